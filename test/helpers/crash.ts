// crash(8) run as a person would: commands on stdin, everything it printed back.
import { spawn } from 'node:child_process';

export function crashCommands(vmlinux: string, vmcore: string, commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('crash', ['-s', vmlinux, vmcore], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out));
    child.stdin.end(`${commands.join('\n')}\nquit\n`);
  });
}
