import { literal, type Processor } from '../src/core/processor.ts';

const processor: Processor = {
  // Computes a short string from its literal inputs: runs in the main thread (no thread hop).
  runtime: 'inline',
  description: {
    id: 'hello-world',
    version: '1.0.0',
    title: 'Hello World',
    abstract: 'Greets the given name, optionally followed by a message.',
    keywords: ['hello world', 'example'],
    jobControlOptions: ['sync-execute', 'async-execute', 'dismiss'],
    inputs: [
      {
        id: 'name',
        kind: 'literal',
        title: 'Name',
        abstract: 'The name of the person or thing to greet.',
        dataType: 'string',
      },
      {
        id: 'message',
        kind: 'literal',
        title: 'Message',
        abstract: 'An optional message to append to the greeting.',
        dataType: 'string',
        minOccurs: 0,
      },
    ],
    outputs: [
      {
        id: 'echo',
        kind: 'literal',
        title: 'Greeting',
        abstract: '"Hello {name}!", followed by the message when one is given.',
        dataType: 'string',
      },
    ],
  },
  async execute(inputs) {
    const name = String(literal(inputs, 'name'));
    const message = literal(inputs, 'message');
    const greeting = `Hello ${name}!`;
    return { echo: message === undefined || message === '' ? greeting : `${greeting} ${String(message)}` };
  },
};

export default processor;
