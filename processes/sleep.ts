import { abortableDelay, literal, type Processor } from '../src/core/processor.ts';

/** Progress every 10 % of the duration, and at least every quarter second. */
const MAX_STEP_MS = 250;

const processor: Processor = {
  description: {
    id: 'sleep',
    version: '1.0.0',
    title: 'Sleep',
    abstract:
      'Waits the given number of seconds, reporting progress as it goes. Useful to try asynchronous execution, progress, dismissal and concurrency.',
    keywords: ['test', 'async'],
    jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
    inputs: [
      {
        id: 'seconds',
        kind: 'literal',
        title: 'Seconds',
        abstract: 'How long to sleep, 0 to 60 seconds.',
        dataType: 'double',
        allowedValues: { ranges: [{ minimum: 0, maximum: 60, closure: 'closed' }] },
        uoms: { default: 's', supported: ['s'] },
      },
    ],
    outputs: [
      {
        id: 'slept',
        kind: 'literal',
        title: 'Seconds slept',
        dataType: 'double',
        uoms: { default: 's', supported: ['s'] },
      },
    ],
  },
  async execute(inputs, ctx) {
    const seconds = Number(literal(inputs, 'seconds'));
    const totalMs = seconds * 1000;
    const stepMs = Math.min(totalMs / 10, MAX_STEP_MS);
    const started = Date.now();
    ctx.progress(0, `sleeping ${seconds} s`);
    for (let elapsed = 0; elapsed < totalMs; elapsed = Date.now() - started) {
      await abortableDelay(Math.min(stepMs, totalMs - elapsed), ctx.signal);
      const done = Math.min(Date.now() - started, totalMs);
      ctx.progress(Math.floor((done / totalMs) * 100), `slept ${(done / 1000).toFixed(2)} of ${seconds} s`);
    }
    return { slept: { kind: 'literal', value: seconds, uom: 's' } };
  },
};

export default processor;
