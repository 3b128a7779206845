// A run folder read as it grows: each read parses only the bytes appended to events.jsonl since the last one, so
// a refresh of the panel costs what the run wrote since, not the run's length. A rewrite (a resume drops what a
// killed run recorded after its checkpoint, by renaming a new file over it) starts over from the first byte.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RunState } from '../protocol/runs';
import { parseEvents, RunReplay, type RunFiles } from './runState';

export class RunTail {
  private replay: RunReplay;
  private offset = 0;
  private inode: number | undefined;
  /** How many times the file was read from its start: a new value means earlier events may have changed. */
  generation = 0;
  /** The bytes after the last newline: a line still being written. */
  private partial = Buffer.alloc(0);

  constructor(readonly dir: string) {
    this.replay = new RunReplay(dir);
  }

  /** The run with everything appended since the last read; undefined while it has no events.jsonl. */
  read(files: RunFiles): RunState | undefined {
    const file = join(this.dir, 'events.jsonl');
    let size: number;
    let inode: number;
    try {
      ({ size, ino: inode } = statSync(file));
    } catch {
      return undefined;
    }
    if (inode !== this.inode || size < this.offset) this.restart(inode);
    if (size > this.offset && !this.append(file, size)) return undefined;
    return this.replay.snapshot(files);
  }

  private restart(inode: number): void {
    this.generation++;
    this.replay = new RunReplay(this.dir);
    this.offset = 0;
    this.inode = inode;
    this.partial = Buffer.alloc(0);
  }

  /** Feeds the whole lines between the last offset and `size`; false when the file went away meanwhile. */
  private append(file: string, size: number): boolean {
    const fresh = Buffer.alloc(size - this.offset);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return false;
    }
    try {
      readSync(fd, fresh, 0, fresh.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const bytes = Buffer.concat([this.partial, fresh]);
    const end = bytes.lastIndexOf(0x0a) + 1;
    this.partial = bytes.subarray(end);
    this.replay.feed(parseEvents(bytes.subarray(0, end).toString('utf8')));
    return true;
  }
}
