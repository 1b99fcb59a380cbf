// Worker thread entry: runs the tar side of layer passes (diff_id, tar walk, users, tarfs index,
// dm-verity) for chunks the main thread posts (protocol in layer-workers.ts). Several passes may be
// interleaved on one worker; each is a TarSink keyed by its id. The tarfs memory budget is the main
// thread's, shared through a SharedArrayBuffer.
import { parentPort } from 'node:worker_threads';
import { TarSink } from './layer.js';
import { toWire, type FromWorker, type ToWorker } from './layer-workers.js';
import { IndexBudget } from './tarfs.js';

const port = parentPort;
if (!port) throw new Error('layer-worker.ts runs only as a worker thread');

const sinks = new Map<number, TarSink>();
const post = (m: FromWorker): void => port.postMessage(m);

function failed(id: number, sink: TarSink | undefined, err: unknown): void {
  sinks.delete(id);
  sink?.release();
  post({ type: 'error', id, error: toWire(err) });
}

port.on('message', (m: ToWorker) => {
  const sink = sinks.get(m.id);
  switch (m.type) {
    case 'start':
      try {
        sinks.set(m.id, new TarSink(m.spec, new IndexBudget(m.budget.maxBytes, m.budget.shared)));
      } catch (err) {
        failed(m.id, undefined, err);
      }
      return;
    case 'chunk':
      // Chunks of a pass that already failed are dropped (the main thread learns of the failure).
      if (!sink) return;
      try {
        sink.write(m.data);
        post({ type: 'ack', id: m.id, bytes: m.data.length });
      } catch (err) {
        failed(m.id, sink, err);
      }
      return;
    case 'end':
      if (!sink) return;
      try {
        const result = sink.finish();
        sinks.delete(m.id);
        sink.release();
        post({ type: 'done', id: m.id, result });
      } catch (err) {
        failed(m.id, sink, err);
      }
      return;
    case 'abort':
      sinks.delete(m.id);
      sink?.release();
      post({ type: 'released', id: m.id });
      return;
  }
});
