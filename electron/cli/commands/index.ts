// Subcommands that live in their own files (one per command family), merged into the CLI's table.
import type { Command } from '../command';
import { analyzeCommand } from './analyze';
import { cacheCommands } from './cache';
import { decodeCommand } from './decode';
import { dockerCommands } from './docker';
import { pipelineCommands } from './pipeline';
import { recipeCommands } from './recipes';

export const extraCommands: Record<string, Command> = {
  ...pipelineCommands,
  ...recipeCommands,
  ...dockerCommands,
  ...cacheCommands,
  decode: decodeCommand,
  analyze: analyzeCommand,
};
