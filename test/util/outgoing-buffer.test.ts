/**
 * OutgoingBuffer's progress counters (issue 14): the core tells a client that reads slowly from one
 * that stopped by whether `sentBytes` moves while `backlogBytes` is high.
 */
import { expect, test } from "bun:test";
import { OutgoingBuffer } from "../../src/util/outgoing-buffer.ts";

const tick = () => new Promise<void>((r) => queueMicrotask(r));

test("a sink that takes part of a write: sent counts what it took, backlog what it did not; flush on drain moves both", async () => {
  let room = 3;
  const buffer = new OutgoingBuffer((bytes) => {
    const n = Math.min(room, bytes.length);
    room -= n;
    return n;
  }, () => {}, 8, 2);
  expect(buffer.push(new Uint8Array(10))).toBe(false); // above the high-water mark
  await tick();
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([3, 7]);
  room = 4;
  buffer.flush();
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([7, 3]);
});

test("a sink that answers -1: the bytes are in flight (backlog) until progress reports them or the next flush", async () => {
  const buffer = new OutgoingBuffer(() => -1, () => {});
  buffer.push(new Uint8Array(100));
  await tick();
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([0, 100]);
  buffer.progress(30);
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([30, 70]);
  buffer.progress(500); // never more than was in flight
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([100, 0]);
  buffer.push(new Uint8Array(50));
  buffer.flush(); // the drain: the earlier write is done; this one is handed over and in flight
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([100, 50]);
  buffer.flush();
  expect([buffer.sentBytes, buffer.backlogBytes]).toEqual([150, 0]);
});
