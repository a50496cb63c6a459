import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { packageDefinition } from '../../libs/grpc/descriptors.js';
import { describeService, listServices } from '../support/reflection.js';
import { startTestMesh } from './mesh.js';
import { reflectedClient } from './reflected-client.js';

/** Every aide.v1 service in proto/ with its methods, read from the .proto files (services are the entries made of methods). */
function servicesInProtos(): Map<string, string[]> {
  const services = new Map<string, string[]>();
  for (const [name, entry] of Object.entries(packageDefinition())) {
    if (!name.startsWith('aide.v1.') || 'format' in entry) continue;
    services.set(name, Object.values(entry as grpc.ServiceDefinition).map((m) => m.path.split('/')[2]!));
  }
  return services;
}

test('grpcurl-style administration through server reflection only', async (t) => {
  const mesh = await startTestMesh(t);
  const addresses = { controller: mesh.controller, worker: mesh.workers[0]!, ranker: mesh.ranker, fileserver: mesh.fileServer.grpc };

  await t.test('the mesh lists every aide.v1 service and describes each one\'s methods', async () => {
    const servedAt = new Map<string, string>();
    for (const [role, address] of Object.entries(addresses)) {
      const listed = await listServices(address);
      assert.ok(listed.includes('grpc.health.v1.Health'), `${role} serves health`);
      for (const service of listed.filter((s) => s.startsWith('aide.v1.'))) servedAt.set(service, address);
    }
    const expected = servicesInProtos();
    assert.deepEqual([...servedAt.keys()].sort(), [...expected.keys()].sort(), 'every service in proto/aide/v1 is served somewhere');
    for (const [service, address] of servedAt) {
      const methods = await describeService(address, service);
      assert.deepEqual(methods.map((m) => m.name).sort(), [...expected.get(service)!].sort(), service);
      assert.ok(methods.every((m) => m.input.startsWith('.aide.v1.') && m.output.startsWith('.aide.v1.')), service);
    }
    const watch = (await describeService(mesh.controller, 'aide.v1.ControllerService')).find((m) => m.name === 'WatchJob');
    assert.deepEqual(watch, { name: 'WatchJob', input: '.aide.v1.WatchJobRequest', output: '.aide.v1.WatchJobResponse', clientStreaming: false, serverStreaming: true });
  });

  await t.test('a client built from the reflected descriptors alone creates and lists a project', async (st) => {
    const client = await reflectedClient(mesh.controller, 'aide.v1.ControllerService');
    st.after(() => client.close());
    const auth = new grpc.Metadata();
    auth.set('authorization', `Bearer ${mesh.adminToken}`);
    const call = (method: string, request: object) => promisify<object, grpc.Metadata, unknown>(client[method]!.bind(client))(request, auth);

    const created = await call('CreateProject', {
      name: 'reflected', annotation_type: 'ANNOTATION_TYPE_LABELS', prediction_type: 'ANNOTATION_TYPE_LABELS',
      settings: { model_library: 'examples.colour_histogram', ranker_library: 'builtin.breaking_ties' },
    }) as { project: { name: string; annotation_type: string } };
    assert.equal(created.project.name, 'reflected');
    assert.equal(created.project.annotation_type, 'ANNOTATION_TYPE_LABELS');
    const listed = await call('ListProjects', {}) as { projects: { name: string }[] };
    assert.ok(listed.projects.some((p) => p.name === 'reflected'));
    await assert.rejects(call('GetProject', { project: 'nope' }), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  });
});
