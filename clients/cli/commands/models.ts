import type { Command } from 'commander';
import { GetDefaultOptionsResponse, ListPluginsResponse, VerifyOptionsResponse } from '../../../libs/gen/aide/v1/controller.js';
import type { PluginInfo } from '../../../libs/gen/aide/v1/ranker.js';
import { EXIT_FAILED } from '../failure.js';
import { jsonText } from '../parse.js';
import { withSession } from '../session.js';
import { annotationTypes } from '../vocabulary.js';

const pretty = (json: string): string => (json ? JSON.stringify(JSON.parse(json), null, 2) : '{}');

const words = (types: readonly number[]): string => types.map((t) => annotationTypes.word(t)).join(', ');

/** A model learns from annotations and predicts; a ranker only ranks predictions, so it has no "from" side. */
const modelLine = (p: PluginInfo): string => `  ${p.key.padEnd(32)} ${p.name}  [${words(p.annotationTypes)} → ${words(p.predictionTypes)}]`;
const rankerLine = (p: PluginInfo): string => `  ${p.key.padEnd(32)} ${p.name}  [ranks ${words(p.predictionTypes)}]`;

export function registerModels(program: Command): void {
  const models = program.command('models').description('models and rankers the mesh offers, and their options');

  models.command('list').description('list every model and ranker')
    .action(withSession(async (session) => {
      session.print(await session.controller.listPlugins({}), ListPluginsResponse, (r) =>
        ['models:', ...r.models.map(modelLine), 'rankers:', ...r.rankers.map(rankerLine)]);
    }));

  models.command('defaults <library>').description('the default options of a model or ranker, as JSON')
    .action(withSession(async (session, library: string) => {
      session.print(await session.controller.getDefaultOptions({ library }), GetDefaultOptionsResponse, (r) => [pretty(r.optionsJson)]);
    }));

  models.command('verify <library> <options>').description('check options (JSON text, or @file) against a model or ranker; exit 1 if invalid')
    .action(withSession(async (session, library: string, options: string) => {
      const res = await session.controller.verifyOptions({ library, optionsJson: jsonText(options) });
      session.print(res, VerifyOptionsResponse, (r) => [
        r.valid ? 'valid' : 'invalid',
        ...r.errors.map((e) => `error: ${e}`),
        ...r.warnings.map((w) => `warning: ${w}`),
        ...(r.optionsJson ? ['options to use:', pretty(r.optionsJson)] : []),
      ]);
      if (!res.valid) process.exitCode = EXIT_FAILED;
    }));
}
