// Unit tests of the click queue (frontend/static/frontend/click_queue.js) with a fake server.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ClickQueue } from "../../../frontend/static/frontend/click_queue.js";

class Failure extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }
}

/** A queue whose server answers each post in turn from `answers` (an Error is thrown), with a
 * clock the test moves by hand. Posts are recorded with how many were in flight at once. */
function fakeQueue(answers = [], options = {}) {
  const server = { posts: [], concurrent: 0, maxConcurrent: 0, answers: [...answers] };
  const clock = { t: 0 };
  const events = [];
  const queue = new ClickQueue({
    postEveryClicks: 10,
    maxPerPost: 100,
    postEveryMs: 500,
    now: () => clock.t,
    classify: (error) => error.kind,
    async send(batch) {
      server.posts.push(batch.map((click) => click[2]));
      server.concurrent += 1;
      server.maxConcurrent = Math.max(server.maxConcurrent, server.concurrent);
      await new Promise((resolve) => setImmediate(resolve));
      server.concurrent -= 1;
      const answer = server.answers.length ? server.answers.shift() : { state: "open" };
      if (answer instanceof Error) throw answer;
      return answer;
    },
    onAnswer: (answer) => events.push(["answer", answer.state]),
    onClosed: () => events.push(["closed"]),
    onError: (error) => events.push(["error", error.kind]),
    ...options,
  });
  return { queue, server, clock, events };
}

const clicks = (from, to) => Array.from({ length: to - from }, (_, k) => [k, k, from + k]);

test("ten clicks make a post at once; fewer wait for the interval", async () => {
  const { queue, server, clock } = fakeQueue();
  for (const click of clicks(0, 9)) queue.push(click);
  queue.tick();
  assert.equal(server.posts.length, 0);
  queue.push([0, 0, 9]);
  await queue.inFlight;
  assert.deepEqual(server.posts, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);

  queue.push([1, 1, 10]);
  clock.t = 499;
  queue.tick();
  assert.equal(server.posts.length, 1);
  clock.t = 500;
  queue.tick();
  await queue.inFlight;
  assert.deepEqual(server.posts[1], [10]);
});

test("one post at a time, in order, and nothing is lost while a post is in flight", async () => {
  const { queue, server } = fakeQueue();
  for (const click of clicks(0, 35)) queue.push(click);
  await queue.drain();
  assert.equal(server.maxConcurrent, 1);
  assert.deepEqual(server.posts.flat(), clicks(0, 35).map((c) => c[2]));
  assert.equal(queue.size, 0);
});

test("a post never carries more than the server's limit", async () => {
  const { queue, server } = fakeQueue([], { maxPerPost: 4, postEveryClicks: 100 });
  for (const click of clicks(0, 10)) queue.push(click);
  await queue.drain();
  assert.deepEqual(server.posts.map((p) => p.length), [4, 4, 2]);
});

test("a network failure sends the batch again, ahead of newer clicks, a bounded number of times", async () => {
  const { queue, server, events } = fakeQueue([new Failure("retry"), { state: "open" }]);
  for (const click of clicks(0, 10)) queue.push(click);
  await queue.inFlight;
  queue.push([0, 0, 10]);
  await queue.drain();
  const first = clicks(0, 10).map((c) => c[2]);
  assert.deepEqual(server.posts, [first, first, [10]]);
  assert.deepEqual(events, [["error", "retry"], ["answer", "open"], ["answer", "open"]]);

  const down = fakeQueue([new Failure("retry"), new Failure("retry"), new Failure("retry")], { retries: 2 });
  down.queue.push([0, 0, 0]);
  await down.queue.drain();
  assert.equal(down.server.posts.length, 3); // the first try and two retries, then it gives up
  assert.equal(down.queue.size, 0);
});

test("a refused batch is dropped so the next one can go", async () => {
  const { queue, server, events } = fakeQueue([new Failure("drop"), { state: "open" }]);
  for (const click of clicks(0, 20)) queue.push(click);
  await queue.drain();
  assert.deepEqual(server.posts.map((p) => p[0]), [0, 10]);
  assert.deepEqual(events, [["error", "drop"], ["answer", "open"]]);
});

test("a closed round stops the posting and drops what is queued", async () => {
  const { queue, server, events } = fakeQueue([new Failure("closed")]);
  for (const click of clicks(0, 25)) queue.push(click);
  await queue.drain();
  assert.equal(server.posts.length, 1);
  assert.equal(queue.size, 0);
  assert.deepEqual(events, [["closed"]]);
  queue.push([0, 0, 99]);
  queue.tick();
  assert.equal(queue.flush(), null);
  assert.equal(server.posts.length, 1);
});

test("an answer that comes after the round was closed here is ignored", async () => {
  const { queue, events } = fakeQueue([{ state: "won" }]);
  for (const click of clicks(0, 10)) queue.push(click);
  const inFlight = queue.inFlight;
  queue.close();
  await inFlight;
  assert.deepEqual(events, []);
});

/** A queue whose posts record (t_ms of the batch, nStored) and are answered from `answers`. */
function countingQueue(answers, options = {}) {
  const posts = [];
  const queue = new ClickQueue({
    postEveryClicks: 10,
    maxPerPost: 100,
    now: () => 0,
    classify: (error) => error.kind,
    async send(batch, nStored) {
      posts.push([batch.map((click) => click[2]), nStored]);
      await new Promise((resolve) => setImmediate(resolve));
      const answer = answers.length ? answers.shift() : { state: "open" };
      if (answer instanceof Error) throw answer;
      return answer;
    },
    ...options,
  });
  return { queue, posts };
}

test("each post says how many clicks the server confirmed before it, from the server's answers", async () => {
  const { queue, posts } = countingQueue([{ state: "open", n_stored: 10 }, { state: "open", n_stored: 12 }]);
  for (const click of clicks(0, 10)) queue.push(click);
  await queue.inFlight;
  queue.push([0, 0, 10]);
  queue.push([0, 0, 11]);
  await queue.flush();
  queue.push([0, 0, 12]);
  await queue.drain();
  assert.deepEqual(posts.map((post) => post[1]), [0, 10, 12]);

  const practice = countingQueue([{ state: "open" }]); // an answer without n_stored: counted here
  for (const click of clicks(0, 10)) practice.queue.push(click);
  await practice.queue.inFlight;
  practice.queue.push([0, 0, 10]);
  await practice.queue.drain();
  assert.deepEqual(practice.posts.map((post) => post[1]), [0, 10]);
});

test("a batch sent again after a lost answer carries the count it was first sent with", async () => {
  const answers = [new Failure("retry"), { state: "open", n_stored: 10 }, { state: "open", n_stored: 11 }];
  const { queue, posts } = countingQueue(answers);
  for (const click of clicks(0, 10)) queue.push(click);
  await queue.inFlight; // the answer is lost: the server may have stored the batch
  queue.push([0, 0, 10]);
  await queue.drain();
  const first = clicks(0, 10).map((c) => c[2]);
  assert.deepEqual(posts, [
    [first, 0],
    [first, 0], // the server finds these ten stored: it stores nothing and answers as it did
    [[10], 10],
  ]);
  assert.equal(queue.stored, 11);
});

test("once a batch is given up its fate is unknown: the next post goes without a count", async () => {
  const failure = () => new Failure("retry");
  const { queue, posts } = countingQueue([failure(), failure(), failure(), { state: "open", n_stored: 1 }]);
  queue.push([0, 0, 0]);
  await queue.drain();
  queue.push([0, 0, 1]);
  await queue.drain();
  assert.deepEqual(posts.map((post) => post[1]), [0, 0, 0, null]);
  assert.equal(queue.stored, 1); // learnt again from the answer
});

test("a count the server disputes is dropped and the batch sent again without it", async () => {
  const { queue, posts } = countingQueue([new Failure("resync"), { state: "open", n_stored: 7 }], { stored: 5 });
  queue.push([0, 0, 0]);
  await queue.drain();
  assert.deepEqual(posts, [
    [[0], 5],
    [[0], null],
  ]);
  assert.equal(queue.stored, 7);
});
