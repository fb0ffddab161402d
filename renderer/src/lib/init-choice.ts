// The /init templates the UI offers for lab images, and what each stands for in the API.
export type InitChoice = 'shell' | 'sysrq-crash' | 'exit0' | 'exit127';

export function initTemplateOf(
  choice: InitChoice,
): { kind: 'shell' } | { kind: 'sysrq-crash' } | { kind: 'exit'; code: number } {
  if (choice === 'exit0') return { kind: 'exit', code: 0 };
  if (choice === 'exit127') return { kind: 'exit', code: 127 };
  return { kind: choice };
}
