// Turns a byte stream into complete lines for a callback; the last partial line is
// delivered by flush(). Carriage returns (progress bars) end a line too.
import { StringDecoder } from 'node:string_decoder';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const parts = this.pending.split(/\r\n|\n|\r/);
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.onLine(line);
  }

  flush(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.onLine(this.pending);
    this.pending = '';
  }
}
