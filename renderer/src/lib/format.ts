// Small formatting helpers shared by views (numbers only: words come from the catalogs).

/** A remaining time as 45s or 4m05s (whole seconds; job progress reports fractions). */
export function formatEta(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}
