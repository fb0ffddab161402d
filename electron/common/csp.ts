// The renderer's Content Security Policy, used by the Electron lab:// protocol and the web mode alike.
// 'unsafe-inline' styles only: xterm.js injects its theme as <style> elements; scripts stay 'self'.
export const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
