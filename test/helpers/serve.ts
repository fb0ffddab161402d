// Starts the real `kdlab serve` (or `npm start`) as a child process and reads the URL it prints.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appRoot } from './build';

export interface ServedApp {
  url: string;
  origin: string;
  token: string;
  output: () => string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

export function startServed(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ServedApp> {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: appRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no URL printed within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = () => {
      const match = /kdlab web mode: (http:\/\/\S+\?token=(\S+))/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const url = match[1]!;
      resolve({
        url,
        origin: new URL(url).origin,
        token: match[2]!,
        output: () => output,
        child,
        stop: async () => {
          try {
            process.kill(-child.pid!, 'SIGTERM');
          } catch {
            // gone
          }
          return exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing a URL:\n${output}`));
    });
  });
}
