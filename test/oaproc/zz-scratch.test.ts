import { it } from 'vitest';
import { execute, request } from '../helpers/oaproc-http.ts';
import { startWpsServer } from '../helpers/wps.ts';

it('explore', async () => {
  const s = await startWpsServer({
    manager: { parallel_processes: 1, sync_job_execution_timeout_seconds: 0.5 },
  });
  const show = (label: string, r: { status: number; headers: Headers; text: string }) =>
    console.log(label, r.status, JSON.stringify(Object.fromEntries(r.headers)), r.text.slice(0, 300));
  try {
    let t = Date.now();
    show('default past sync timeout', await execute(s.base, 'sleep', { inputs: { seconds: 1.5 } }));
    console.log('elapsed', Date.now() - t);
    await new Promise((r) => setTimeout(r, 1500));
    t = Date.now();
    show(
      'wait=3 > sync timeout',
      await execute(s.base, 'sleep', { inputs: { seconds: 1.5 } }, { Prefer: 'wait=3' }),
    );
    console.log('elapsed', Date.now() - t);
    show('stubborn desc', await request(`${s.base}/processes/stubborn`));
    const st = await execute(s.base, 'stubborn', { inputs: { seconds: 5 } }, { Prefer: 'respond-async' });
    show('stubborn', st);
    await new Promise((r) => setTimeout(r, 300));
    const q = await execute(s.base, 'hello-world', { inputs: { name: 'q' } }, { Prefer: 'respond-async' });
    t = Date.now();
    show('del stubborn', await request(`${s.base}/jobs/${st.json.jobID}`, { method: 'DELETE' }));
    for (let i = 0; i < 40; i++) {
      const j = await request(`${s.base}/jobs/${q.json.jobID}`);
      if (j.json.status === 'successful') {
        console.log('queued done after', Date.now() - t);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    show(
      'no outputs produced raw',
      await execute(s.base, 'echo', { inputs: { stringInput: 'x' }, outputs: { arrayOutput: {} } }),
    );
    show(
      'no outputs produced doc',
      await execute(s.base, 'echo', {
        inputs: { stringInput: 'x' },
        outputs: { arrayOutput: {} },
        response: 'document',
      }),
    );
    show(
      'bad input async',
      await execute(s.base, 'sleep', { inputs: { seconds: 'x' } }, { Prefer: 'respond-async' }),
    );
    show('results HEAD', await request(`${s.base}/jobs/${q.json.jobID}/results`, { method: 'HEAD' }));
    show('jobs list', await request(`${s.base}/jobs?limit=2`));
    show(
      'binary raw requested base64',
      await execute(s.base, 'echo', {
        inputs: { stringInput: 'x', binaryInput: { value: 'AAEC', mediaType: 'application/octet-stream' } },
        outputs: { binaryOutput: { format: { mediaType: 'application/octet-stream', encoding: 'base64' } } },
      }),
    );
    show(
      'tiff',
      await execute(s.base, 'echo', {
        inputs: { stringInput: 'x', binaryInput: 'AAEC' },
        outputs: { binaryOutput: {} },
      }),
    );
    show('empty outputs', await execute(s.base, 'echo', { inputs: { stringInput: 'x' }, outputs: {} }));
    show(
      'chunked',
      await request(`${s.base}/processes/hello-world/execution`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: new Blob([JSON.stringify({ inputs: { name: 'c' } })]).stream(),
        duplex: 'half',
      } as RequestInit),
    );
  } finally {
    await s.close();
  }
}, 60000);
