import type { TraceSink } from '../execution/executor.port.js';

/** A trace sink that keeps everything written to it as text, for assertions. */
export class TextTraceSink implements TraceSink {
  #text = '';
  readonly #decoder = new TextDecoder();

  write(chunk: string | Uint8Array): void {
    this.#text += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
  }

  get text(): string {
    return this.#text;
  }
}
