// The course order of the labs (a recipe's `order`, 1–10 for the shipped ones as the issue numbers
// them); recipes without one (a teacher's own) come after, by id.
export function byLabOrder(a: { order?: number; id: string }, b: { order?: number; id: string }): number {
  return (a.order ?? Infinity) - (b.order ?? Infinity) || a.id.localeCompare(b.id);
}
