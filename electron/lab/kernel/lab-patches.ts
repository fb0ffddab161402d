// Compatibility patches kdlab applies to the kernel trees it unpacks for the lab, and only to those
// (a user's own tree is never modified). Each one is named in the build manifest.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface LabPatch {
  id: string;
  description: string;
  /** Returns true when the tree needed the patch and it was applied. */
  apply(tree: string): Promise<boolean>;
}

export const crashPidNumbersPatch: LabPatch = {
  id: 'crash-8.0.2-pid-numbers',
  description:
    "struct pid's numbers[] flexible array (a 6.1.y backport) back to numbers[1]: Debian's crash 8.0.2 reads the " +
    'old layout and otherwise loses tasks ("active task … not found in PID hash"). Lab kernels only; same memory layout.',
  async apply(tree) {
    const file = join(tree, 'include/linux/pid.h');
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null || !text.includes('struct upid numbers[];')) return false;
    await writeFile(
      file,
      text.replace(
        'struct upid numbers[];',
        'struct upid numbers[1]; /* kdlab: crash 8.0.2 compatibility */',
      ),
    );
    return true;
  },
};

export const labPatches: LabPatch[] = [crashPidNumbersPatch];
