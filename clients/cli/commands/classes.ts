import type { Command } from 'commander';
import {
  AddLabelClassesResponse, ListLabelClassesResponse, RemoveLabelClassResponse, UpdateLabelClassResponse,
} from '../../../libs/gen/aide/v1/controller.js';
import type { LabelClass } from '../../../libs/gen/aide/v1/common.js';
import { notFound } from '../../../libs/errors.js';
import { withSession, type Session } from '../session.js';

const line = (c: LabelClass): string => `${c.id}  ${String(c.index).padStart(3)}  ${c.name.padEnd(20)} ${c.color}`;

/** The id of the class named or identified by `ref`, so people can use names. */
async function classId(session: Session, project: string, ref: string): Promise<string> {
  const { labelClasses } = await session.controller.listLabelClasses({ project });
  const found = labelClasses.find((c) => c.id === ref) ?? labelClasses.find((c) => c.name === ref);
  if (!found) throw notFound(`label class "${ref}" of project ${project}`);
  return found.id;
}

export function registerClasses(program: Command): void {
  const classes = program.command('classes').description('label classes of a project');

  classes.command('list <project>').description('list the label classes (id, mask index, name, colour)')
    .action(withSession(async (session, project: string) => {
      session.print(await session.controller.listLabelClasses({ project }), ListLabelClassesResponse, (r) => r.labelClasses.map(line));
    }));

  classes.command('add <project> <names...>').description('add label classes, in order (all or none)')
    .option('--color <#rrggbb>', 'display colour (of every class added)', '')
    .action(withSession(async (session, project: string, names: string[], o: { color: string }) => {
      const res = await session.controller.addLabelClasses({ project, labelClasses: names.map((name) => ({ name, color: o.color })) });
      session.print(res, AddLabelClassesResponse, (r) => r.labelClasses.map(line));
    }));

  classes.command('update <project> <class>').description('rename or recolour a label class (by id or name)')
    .option('--name <name>', 'new name')
    .option('--color <#rrggbb>', 'new colour')
    .action(withSession(async (session, project: string, ref: string, o: { name?: string; color?: string }) => {
      const id = await classId(session, project, ref);
      const res = await session.controller.updateLabelClass({ project, id, name: o.name ?? '', color: o.color ?? '' });
      session.print(res, UpdateLabelClassResponse, (r) => [line(r.labelClass!)]);
    }));

  classes.command('remove <project> <class>').description('remove a label class (by id or name)')
    .action(withSession(async (session, project: string, ref: string) => {
      const res = await session.controller.removeLabelClass({ project, id: await classId(session, project, ref) });
      session.print(res, RemoveLabelClassResponse, () => [`removed label class ${ref}`]);
    }));
}
