// `kdlab decode`: the panic-log decoder on the command line. Reads a console log (a file, or stdin
// with `-` or no FILE) as a stream, so a large log never sits in memory twice.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { LabError } from '../../common/errors';
import { cliLanguage } from '../../common/local-text';
import { formatReports, LogDecoder } from '../../lab/analyze/decoder';
import { symbolizeReports } from '../../lab/analyze/decoder/symbolize';
import type { Command } from '../command';
import { str } from '../command';

async function decodeStream(input: Readable): Promise<ReturnType<LogDecoder['finish']>> {
  const decoder = new LogDecoder();
  input.setEncoding('utf8');
  for await (const chunk of input) decoder.push(chunk as string);
  return decoder.finish();
}

export const decodeCommand: Command = {
  summary: 'Decode kernel panic/oops logs: what crashed, where, why, and what to do next',
  usage: `kdlab decode [FILE|-] [--vmlinux P] [--system-map P] [--modules DIR] [--lang L] [--json]

  Reads a console log, dmesg, journal or syslog excerpt (stdin when FILE is - or missing) and prints
  one report per crash found, with its explanation first.
  --vmlinux P      resolve function+offset to file:line (inlines included) and disassemble Code:
  --system-map P   symbol addresses (default: System.map next to vmlinux, else nm)
  --modules DIR    folder with the .ko files of modules named in the traces
  --lang L         language of the explanation: en or zh-CN (default: zh-CN when LC_ALL, LC_MESSAGES
                   or LANG is Chinese, else en)
  --json           machine-readable output (an array of reports; explanations in every language)`,
  options: {
    vmlinux: { type: 'string' },
    'system-map': { type: 'string' },
    modules: { type: 'string' },
    lang: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: true,
  async run(values, ctx, positionals) {
    if (positionals.length > 1)
      throw new LabError(
        'BAD_REQUEST',
        `kdlab decode takes one log file, not ${positionals.length}.`,
        'Decode the files one by one, or cat them together into stdin.',
      );
    const lang = cliLanguage(str(values.lang), ctx.env);
    const file = positionals[0];
    let input: Readable;
    if (file === undefined || file === '-') input = process.stdin;
    else {
      input = createReadStream(file);
      await new Promise<void>((resolve, reject) => {
        input.once('open', () => resolve());
        input.once('error', (e: NodeJS.ErrnoException) =>
          reject(
            e.code === 'ENOENT'
              ? new LabError(
                  'NOT_FOUND',
                  `${file} does not exist.`,
                  'Pass the path of a saved console log, or - to read stdin.',
                )
              : new LabError('IO', `Cannot read ${file}: ${e.message}`),
          ),
        );
      });
    }
    const reports = await decodeStream(input);
    const vmlinux = str(values.vmlinux);
    const systemMap = str(values['system-map']);
    const modulesDir = str(values.modules);
    if (vmlinux || systemMap || modulesDir)
      await symbolizeReports(reports, { vmlinux, systemMap, modulesDir });
    ctx.stdout.write(values.json ? `${JSON.stringify(reports, null, 2)}\n` : formatReports(reports, lang));
    return 0;
  },
};
