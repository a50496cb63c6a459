#!/usr/bin/env node
/**
 * Image build helper: turns the named devDependencies (tsx) into production
 * dependencies in package.json AND package-lock.json (root entry plus the
 * "dev" flags of the package and everything it pulls in), so that
 * `npm ci --omit=dev` installs them and nothing else from devDependencies.
 * The services run TypeScript through tsx (`node --import tsx services/run.ts`),
 * so the runtime image needs tsx and its esbuild but not typescript, buf, ts-proto.
 * Used only inside the Dockerfile's deps stage, on a copy of the two files.
 *
 *   node deploy/promote-deps.mjs tsx
 */
import { readFileSync, writeFileSync } from 'node:fs';
const names = process.argv.slice(2);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const packages = lock.packages;
const resolve = (from, dep) => {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const path = `${dir ? `${dir}/` : ''}node_modules/${dep}`;
    if (packages[path]) return path;
    if (!dir) return undefined;
  }
};
const seen = new Set();
const visit = (path) => {
  if (!path || seen.has(path)) return;
  seen.add(path);
  const entry = packages[path];
  delete entry.dev;
  delete entry.devOptional;
  for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) visit(resolve(path, dep));
};
for (const name of names) {
  const range = pkg.devDependencies?.[name];
  if (!range) throw new Error(`${name} is not a devDependency`);
  for (const root of [pkg, packages['']]) {
    delete root.devDependencies[name];
    root.dependencies = { ...root.dependencies, [name]: range };
  }
  visit(resolve('', name));
}
writeFileSync('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`promoted to production: ${[...seen].join(' ')}`);
