import type { Command } from 'commander';
import { AnnotationType, ProjectSettings } from '../../../libs/gen/aide/v1/common.js';
import {
  CreateProjectResponse, DeleteProjectResponse, GetProjectResponse, ListProjectsResponse, UpdateProjectSettingsResponse,
} from '../../../libs/gen/aide/v1/controller.js';
import { annotationTypes } from '../vocabulary.js';
import { projectLines } from '../format.js';
import { allPages } from '../pages.js';
import { addSettingsOptions, applySettings, type SettingsOptions } from '../project-settings.js';
import { withSession } from '../session.js';

interface CreateOptions extends SettingsOptions {
  displayName: string;
  annotationType: AnnotationType;
  predictionType?: AnnotationType;
}

export function registerProjects(program: Command): void {
  const projects = program.command('projects').description('create, inspect, configure and delete projects');

  addSettingsOptions(projects.command('create <name>').description('create a project'))
    .option('--display-name <text>', 'name shown to people', '')
    .addOption(annotationTypes.option('--annotation-type <type>', 'what annotators draw').default(AnnotationType.ANNOTATION_TYPE_LABELS, 'labels'))
    .addOption(annotationTypes.option('--prediction-type <type>', 'what the model predicts (default: the annotation type)'))
    .action(withSession(async (session, name: string, o: CreateOptions) => {
      const res = await session.controller.createProject({
        name, displayName: o.displayName, annotationType: o.annotationType, predictionType: o.predictionType ?? o.annotationType,
        settings: applySettings(ProjectSettings.fromPartial({}), o),
      });
      session.print(res, CreateProjectResponse, (r) => projectLines(r.project!));
    }));

  projects.command('get <name>').description('show a project and its settings')
    .action(withSession(async (session, name: string) => {
      session.print(await session.controller.getProject({ project: name }), GetProjectResponse, (r) => projectLines(r.project!));
    }));

  projects.command('list').description('list the projects this token may see')
    .action(withSession(async (session) => {
      const all = await allPages((pageToken) => session.controller.listProjects({ pageSize: 100, pageToken }), (p) => p.projects);
      session.print({ projects: all, nextPageToken: '' }, ListProjectsResponse, (r) => r.projects.map((p) =>
        `${p.name.padEnd(24)} ${annotationTypes.word(p.annotationType).padEnd(18)} ${p.settings?.modelLibrary || '-'}`));
    }));

  projects.command('delete <name>').description('delete a project with its images, annotations, predictions, states and jobs')
    .action(withSession(async (session, name: string) => {
      session.print(await session.controller.deleteProject({ project: name }), DeleteProjectResponse, () => [`deleted project ${name}`]);
    }));

  addSettingsOptions(projects.command('settings <name>')
    .description('change a project\'s model, ranker and training settings (without options: show them)'))
    .action(withSession(async (session, name: string, o: SettingsOptions) => {
      const current = await session.controller.getProject({ project: name });
      if (Object.keys(o).length === 0) {
        session.print(current, GetProjectResponse, (r) => projectLines(r.project!));
        return;
      }
      const project = current.project;
      const res = await session.controller.updateProjectSettings({ project: name, settings: applySettings(project!.settings ?? ProjectSettings.fromPartial({}), o) });
      session.print(res, UpdateProjectSettingsResponse, (r) => [...projectLines(r.project!), ...r.warnings.map((w) => `warning: ${w}`)]);
    }));
}
