// Worker thread entry: runs the tar side of layer passes (protocol in layer-workers.ts). Several passes
// may be interleaved on one worker. A pass has a tar stage (tar walk, users, tarfs index, and without
// --verity the diff_id; a TarSink keyed by the pass id) and, with --verity, a hashing stage on a second
// worker when the pool has one: the tar stage moves each chunk on over a MessagePort to its peer,
// which hashes it (diff_id and dm-verity: per-byte work, where the tar walk costs per entry) and
// acknowledges it to the main thread, and at the end gets the index bytes and returns both digests.
// Moving a chunk detaches it here, so nothing may keep a view of it: the tar reader copies what it
// keeps. The tarfs memory budget is the main thread's, shared through a SharedArrayBuffer.
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { Hash } from 'node:crypto';
import { InflateStage, StageOutlet, moveOnConsumer } from './inflate-stage.js';
import { TarSink, hasherFor } from './layer.js';
import type { SinkResult } from './layer-sink.js';
import { toWire, type FromWorker, type PeerMessage, type ToWorker } from './layer-workers.js';
import { IndexBudget } from './tarfs.js';
import { VerityHasher } from './verity.js';

const port = parentPort;
if (!port) throw new Error('layer-worker.ts runs only as a worker thread');

interface TarPass {
  sink: TarSink;
  /** The worker hashing this pass's dm-verity tree, when not this one. */
  peer?: MessagePort;
  /** Set once the tar is done and the root is awaited from the peer. */
  waiting?: SinkResult;
  /** Passes that get the compressed blob: its digest and inflate, and the outlet they feed. */
  inflate?: InflateStage;
  outlet?: StageOutlet;
  ending?: boolean;
  /** The compressed blob's digest, reported with the outcome (inflating passes). */
  blobDigest?: string;
}

const passes = new Map<number, TarPass>();
/** dm-verity stages of passes whose tar stage runs on a peer, by pass id. */
const verities = new Map<
  number,
  { hasher: VerityHasher; diff: Hash; alg: string; from: MessagePort; ackPeer: boolean }
>();
/** Channels to the other workers, by their key (sent by the main thread before the first use). */
const peers = new Map<number, MessagePort>();
const post = (m: FromWorker): void => port.postMessage(m);

function failed(id: number, err: unknown): void {
  const p = passes.get(id);
  passes.delete(id);
  p?.inflate?.abort();
  p?.sink.release();
  p?.peer?.postMessage({ type: 'vabort', id } satisfies PeerMessage);
  post({
    type: 'error',
    id,
    error: toWire(err),
    ...(p?.blobDigest === undefined ? {} : { blobDigest: p.blobDigest }),
  });
}

/** Reports a finished pass (its tar and, when split, its dm-verity stage). */
function done(id: number, p: TarPass, result: SinkResult): void {
  passes.delete(id);
  post({ type: 'done', id, result, ...(p.blobDigest === undefined ? {} : { blobDigest: p.blobDigest }) });
}

/** Ends the tar stage: the result here, or the index to the hashing stage on the peer. */
function endTar(id: number, p: TarPass): void {
  try {
    if (!p.peer) {
      const result = p.sink.finish();
      p.sink.release();
      done(id, p, result);
      return;
    }
    const { result, index } = p.sink.finishTar();
    // The index bytes are copied into the message; the tree's reservation is no longer needed.
    p.sink.release();
    p.waiting = result;
    p.peer.postMessage({ type: 'vend', id, index } satisfies PeerMessage);
  } catch (err) {
    failed(id, err);
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'peer') {
    peers.set(m.key, m.port);
    m.port.on('message', (pm: PeerMessage) => onPeer(m.port, pm));
    // The peer stopped: its passes cannot finish here (the main thread fails them too).
    m.port.on('close', () => {
      peers.delete(m.key);
      for (const [id, v] of verities) if (v.from === m.port) verities.delete(id);
      for (const [id, p] of passes)
        if (p.peer === m.port) failed(id, new Error('the dm-verity thread stopped'));
    });
    return;
  }
  const p = passes.get(m.id);
  switch (m.type) {
    case 'start':
      try {
        const peer = m.verityPeer === undefined ? undefined : peers.get(m.verityPeer);
        if (m.verityPeer !== undefined && !peer) throw new Error('no channel to the dm-verity thread');
        const budget = new IndexBudget(m.budget.maxBytes, m.budget.shared, m.budget.held);
        const sink = new TarSink(m.spec, budget, peer ? 'elsewhere' : 'here');
        const pass: TarPass = { sink, ...(peer ? { peer } : {}) };
        if (m.inflate !== undefined) {
          const id = m.id;
          const outlet = new StageOutlet(moveOnConsumer(id, sink, peer));
          const { hash } = hasherFor(`${m.inflate}:`, 'layer digest');
          pass.outlet = outlet;
          pass.inflate = new InflateStage(
            hash,
            m.inflate,
            outlet,
            // The spent batch goes back to the main thread for its next one.
            (bytes, spent) => {
              if (spent && spent.byteOffset === 0) {
                const buffer = spent.buffer as ArrayBuffer;
                port.postMessage({ type: 'ack', id, bytes, buffer } satisfies FromWorker, [buffer]);
              } else post({ type: 'ack', id, bytes });
            },
            peer !== undefined,
          );
        }
        passes.set(m.id, pass);
        peer?.postMessage({
          type: 'vstart',
          id: m.id,
          diffId: m.spec.diffId,
          ...(m.inflate !== undefined ? { ackPeer: true } : {}),
        } satisfies PeerMessage);
      } catch (err) {
        failed(m.id, err);
      }
      return;
    case 'chunk':
      // Chunks of a pass that already failed are dropped (the main thread learns of the failure).
      if (!p) return;
      try {
        p.sink.write(m.data);
      } catch (err) {
        failed(m.id, err);
        return;
      }
      // The last stage acknowledges: the chunk's memory is free only once the peer is done with it.
      if (p.peer)
        p.peer.postMessage({ type: 'vchunk', id: m.id, data: m.data } satisfies PeerMessage, [
          m.data.buffer as ArrayBuffer,
        ]);
      else post({ type: 'ack', id: m.id, bytes: m.data.length });
      return;
    case 'cchunk':
      // Keeps digesting after a failure: the digest verdict wins (inflate-stage.ts).
      p?.inflate?.write(m.data);
      return;
    case 'end': {
      if (!p || p.waiting || p.ending) return;
      const stage = p.inflate;
      if (!stage) {
        endTar(m.id, p);
        return;
      }
      p.ending = true;
      void stage.end().then(({ blobDigest, failure }) => {
        // Aborted meanwhile.
        if (passes.get(m.id) !== p) return;
        p.blobDigest = blobDigest;
        if (failure !== undefined) failed(m.id, failure);
        else endTar(m.id, p);
      });
      return;
    }
    case 'abort':
      passes.delete(m.id);
      p?.inflate?.abort();
      p?.sink.release();
      p?.peer?.postMessage({ type: 'vabort', id: m.id } satisfies PeerMessage);
      verities.delete(m.id);
      post({ type: 'released', id: m.id });
      return;
  }
});

function onPeer(from: MessagePort, m: PeerMessage): void {
  switch (m.type) {
    // The dm-verity stage, for a tar stage on the peer.
    case 'vstart':
      {
        // The tar stage checked the algorithm already.
        const { alg, hash } = hasherFor(m.diffId, 'diff_id');
        verities.set(m.id, {
          hasher: new VerityHasher(),
          diff: hash,
          alg,
          from,
          ackPeer: m.ackPeer === true,
        });
      }
      return;
    case 'vchunk': {
      const v = verities.get(m.id);
      if (!v) return;
      v.diff.update(m.data);
      v.hasher.update(m.data);
      if (v.ackPeer) from.postMessage({ type: 'vack', id: m.id, bytes: m.data.length } satisfies PeerMessage);
      else post({ type: 'ack', id: m.id, bytes: m.data.length });
      return;
    }
    case 'vack':
      passes.get(m.id)?.outlet?.acked(m.bytes);
      return;
    case 'vend': {
      const v = verities.get(m.id);
      if (!v) return;
      verities.delete(m.id);
      try {
        v.hasher.update(m.index);
        const diffId = `${v.alg}:${v.diff.digest('hex')}`;
        from.postMessage({ type: 'vdone', id: m.id, root: v.hasher.digest(), diffId } satisfies PeerMessage);
      } catch (err) {
        from.postMessage({ type: 'verror', id: m.id, error: toWire(err) } satisfies PeerMessage);
      }
      return;
    }
    case 'vabort':
      verities.delete(m.id);
      return;
    // Replies to this worker's tar stage.
    case 'vdone': {
      const p = passes.get(m.id);
      if (!p?.waiting) return;
      done(m.id, p, { ...p.waiting, diffId: m.diffId, verityRoot: m.root });
      return;
    }
    case 'verror': {
      const p = passes.get(m.id);
      if (!p) return;
      passes.delete(m.id);
      post({
        type: 'error',
        id: m.id,
        error: m.error,
        ...(p.blobDigest === undefined ? {} : { blobDigest: p.blobDigest }),
      });
      return;
    }
  }
}

// Every module this worker needs is loaded: the main thread may change V8's flags again.
post({ type: 'ready' });
