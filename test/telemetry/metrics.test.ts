import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../libs/bus/index.js';
import { JobState } from '../../libs/gen/aide/v1/common.js';
import { startMetricsServer } from '../../libs/telemetry/metrics-server.js';
import { waitUntil } from '../support/wait.js';
import { IMAGE_BYTES, IMAGES, logger, PROJECT, queueTrainingJob, startMesh } from './mesh.js';
import { parsePrometheusText, sampleValue, type Sample } from './prometheus-text.js';

async function scrape(address: string): Promise<Sample[]> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

// Tracing stays off here (no SDK registered): the metrics must not depend on it.
test('/metrics of each service parses as Prometheus text and counts the job that just ran', { timeout: 60_000 }, async (t) => {
  const bus = new MemoryBus();
  t.after(() => bus.close());
  const mesh = await startMesh(t, bus);
  // The controller's endpoint, as its main.ts starts it from [AIController] metrics_port.
  const controller = await startMetricsServer({ host: '127.0.0.1', port: 0, logger });
  t.after(() => controller.close());

  const job = await queueTrainingJob(mesh.db);
  const ended = (async () => {
    let last: JobState | undefined;
    for await (const { event } of bus.watch(PROJECT, job.id)) last = event.state;
    return last;
  })();
  await mesh.runner.start();
  assert.equal(await ended, JobState.JOB_STATE_SUCCEEDED);
  // The job is counted just after its last event: waited for, not slept on, so a loaded machine is only slower.
  await waitUntil('the job counted', async () =>
    sampleValue(await scrape(controller.address), 'aide_jobs_total', { kind: 'train', state: 'succeeded' }) === 1);

  const endpoints = { controller: controller.address, fileserver: mesh.fileServer.addresses.metrics!, ...Object.fromEntries(mesh.workers.map((w, i) => [`worker ${i + 1}`, w.addresses.metrics!])) };
  for (const [service, address] of Object.entries(endpoints)) {
    await t.test(service, async () => {
      const samples = await scrape(address);
      assert.equal(sampleValue(samples, 'aide_jobs_total', { kind: 'train', state: 'succeeded' }), 1);
      assert.equal(sampleValue(samples, 'aide_job_duration_seconds_count', { kind: 'train', state: 'succeeded' }), 1);
      assert.equal(sampleValue(samples, 'aide_jobs_running', { kind: 'train' }), 0);
      assert.equal(sampleValue(samples, 'aide_fileserver_read_bytes_total', { method: 'getFile' }), IMAGES.length * IMAGE_BYTES);
      assert.equal(sampleValue(samples, 'aide_rpc_server_requests_total', { method: '/aide.v1.FileService/GetFile', code: 'OK' }), IMAGES.length);
      assert.equal(sampleValue(samples, 'aide_rpc_server_requests_total', { method: '/aide.v1.WorkerService/Train', code: 'OK' }), 2);
      assert.equal(sampleValue(samples, 'aide_rpc_server_requests_total', { method: '/aide.v1.WorkerService/AverageStates', code: 'OK' }), 1);
      // Two shard states come back and go out again to be averaged; the average comes back.
      const back = sampleValue(samples, 'aide_model_state_bytes_total', { direction: 'from_worker', phase: 'train' });
      assert.ok(back !== undefined && back > 0);
      assert.equal(sampleValue(samples, 'aide_model_state_bytes_total', { direction: 'to_worker', phase: 'average' }), back);
      assert.equal(sampleValue(samples, 'aide_worker_busy_ratio', { worker: 'w1' }), 0);
      assert.ok(sampleValue(samples, 'process_cpu_seconds_total') !== undefined, 'process metrics too');
    });
  }

  await t.test('anything but GET /metrics is 404', async () => {
    assert.equal((await fetch(`http://${controller.address}/`)).status, 404);
  });
});
