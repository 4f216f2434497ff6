import { describe, expect, it } from 'vitest';
import type { ErrorClass } from '../../../src/channels/channel.js';
import { classifyNetwork, classifyStatus, type IoCall } from '../../../src/channels/appio/classify.js';

describe('classifyStatus', () => {
  const table: Array<[IoCall, number, ErrorClass]> = [
    ['send', 400, 'permanent'],
    ['send', 401, 'halt'],
    ['send', 403, 'permanent'],
    ['send', 404, 'permanent'],
    ['send', 429, 'transient'],
    ['send', 500, 'transient'], // IO's handler queues processing last: its 500 created nothing
    ['send', 502, 'uncertain'],
    ['send', 503, 'uncertain'],
    ['send', 504, 'uncertain'],
    ['send', 200, 'uncertain'], // unexpected answer to a POST: something may exist
    ['profile', 400, 'permanent'],
    ['profile', 401, 'halt'],
    ['profile', 403, 'permanent'],
    ['profile', 429, 'transient'],
    ['profile', 500, 'transient'],
    ['profile', 503, 'transient'],
    ['status', 403, 'permanent'],
    ['status', 404, 'permanent'],
    ['status', 429, 'transient'],
    ['status', 500, 'transient'],
    ['status', 504, 'transient'],
  ];
  it.each(table)('%s answered %i → %s', (call, status, expected) => {
    expect(classifyStatus(call, status)).toBe(expected);
  });
});

describe('classifyNetwork', () => {
  const table: Array<[IoCall, string, boolean, ErrorClass]> = [
    ['send', 'ETIMEDOUT', true, 'uncertain'],
    ['send', 'ECONNRESET', true, 'uncertain'],
    ['send', 'ERR_CANCELED', true, 'uncertain'],
    ['send', 'ETIMEDOUT', false, 'transient'], // never fully written: IO cannot have acted on it
    ['send', 'ECONNRESET', false, 'transient'],
    ['send', 'ECONNREFUSED', false, 'transient'],
    ['send', 'ENOTFOUND', false, 'transient'],
    ['send', 'EAI_AGAIN', false, 'transient'],
    ['profile', 'ETIMEDOUT', true, 'transient'],
    ['profile', 'ECONNRESET', true, 'transient'],
    ['status', 'ETIMEDOUT', true, 'transient'],
    ['status', 'ECONNREFUSED', false, 'transient'],
  ];
  it.each(table)('%s failing with %s (sent: %s) → %s', (call, code, sent, expected) => {
    expect(classifyNetwork(call, code, sent)).toBe(expected);
  });
});
