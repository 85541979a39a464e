import type { Processor } from '../src/core/processor.ts';
import { first } from '../src/core/processor.ts';
import { vectorInput } from './_gdal/descriptions.ts';
import { openVector } from './_gdal/vector.ts';

const processor: Processor = {
  runtime: 'gdal',
  description: {
    id: 'feature-count',
    version: '1.0.0',
    title: 'Feature count',
    abstract: 'Counts the features of a vector dataset.',
    keywords: ['vector', 'count'],
    inputs: [vectorInput('The features to count.')],
    outputs: [{ id: 'count', kind: 'literal', title: 'Number of features', dataType: 'integer' }],
  },
  async execute(inputs, ctx) {
    const source = await openVector(first(inputs, 'data', 'complex')!, 'data', ctx);
    ctx.progress(50, 'counting');
    const count = source.layer.features.count(true);
    return { count };
  },
};

export default processor;
