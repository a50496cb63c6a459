import { InvalidArgumentError, type Command } from 'commander';
import { ListSuspectAnnotationsResponse, type SuspectAnnotation } from '../../../libs/gen/aide/v1/controller.js';
import { count } from '../parse.js';
import { withSession } from '../session.js';

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
}

/** One line per suspect: mistakenness, path, the annotated class and the one the model predicts instead (class names where known). */
function suspectLine(s: SuspectAnnotation, names: ReadonlyMap<string, string>): string {
  const name = (id: string) => names.get(id) ?? id;
  return `${s.mistakenness.toFixed(3)}  ${s.filePath}  annotated ${name(s.annotation?.labelClassId ?? '')}, model says ${name(s.predictedLabelClassId)}  (annotation ${s.annotation?.id ?? ''})`;
}

export function registerReview(program: Command): void {
  program.command('review <project>')
    .description('annotations the model confidently contradicts, most suspicious first (label projects; run `aide infer --include-annotated` first)')
    .option('--limit <n>', 'how many (a page; at most 1000)', count, 20)
    .option('--min <mistakenness>', 'only suspects the model contradicts at least this surely (0–1)', fraction, 0)
    .option('--state <id>', 'model state whose predictions to compare (default: the current one)', '')
    .option('--page-token <token>', 'the page after the one that printed this token', '')
    .action(withSession(async (session, project: string, o: { limit: number; min: number; state: string; pageToken: string }) => {
      const res = await session.controller.listSuspectAnnotations({
        project, modelStateId: o.state, minMistakenness: o.min, pageSize: o.limit, pageToken: o.pageToken,
      });
      const { labelClasses } = await session.controller.listLabelClasses({ project });
      const names = new Map(labelClasses.map((c) => [c.id, c.name]));
      session.print(res, ListSuspectAnnotationsResponse, (r) => r.suspects.map((s) => suspectLine(s, names)));
      if (!session.json && res.nextPageToken) process.stderr.write(`more: --page-token ${res.nextPageToken}\n`);
    }));
}
