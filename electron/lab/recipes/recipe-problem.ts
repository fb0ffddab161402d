// A recipe that did not load (pure data: the API contract and the renderer use it too).

/** Its file and the loader's FILE:LINE:COL messages, one per line. */
export interface RecipeProblem {
  file: string;
  /** The folder name, which is the id it should have. */
  id: string;
  message: string;
  hint: string | null;
}
