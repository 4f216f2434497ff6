import { describe, expect, it } from 'vitest';
import type { ErrorClass } from '../../../src/channels/channel.js';
import {
  META_ERROR_TABLE,
  classifyCode,
  classifyNetwork,
  classifyResponse,
  pairRetryAfterMs,
} from '../../../src/channels/whatsapp/classify.js';

describe('classifyCode: whatsapp.md §3, code by code', () => {
  const table: Array<[number, ErrorClass]> = [
    // retry
    [130429, 'transient'],
    [131056, 'transient'],
    [4, 'transient'],
    [80007, 'transient'],
    [131000, 'transient'],
    [1, 'transient'],
    [2, 'transient'],
    [131016, 'transient'],
    [133004, 'transient'],
    [131057, 'transient'],
    // this recipient or this payload, never again
    [131026, 'permanent'],
    [131047, 'permanent'],
    [131049, 'permanent'],
    [131050, 'permanent'],
    [130403, 'permanent'],
    [131051, 'permanent'],
    [132000, 'permanent'],
    [132001, 'permanent'],
    [132005, 'permanent'],
    [132007, 'permanent'],
    [132012, 'permanent'],
    [132015, 'permanent'],
    [132016, 'permanent'],
    [100, 'permanent'],
    [131008, 'permanent'],
    [131009, 'permanent'],
    [131021, 'permanent'],
    // stop the channel and alert
    [190, 'halt'],
    [0, 'halt'],
    [3, 'halt'],
    [10, 'halt'],
    [200, 'halt'],
    [250, 'halt'],
    [299, 'halt'],
    [131005, 'halt'],
    [368, 'halt'],
    [131031, 'halt'],
    [130497, 'halt'],
    [131042, 'halt'],
    [131064, 'halt'],
    [133010, 'halt'],
    [131045, 'halt'],
    [131037, 'halt'],
    [131048, 'halt'],
  ];
  it.each(table)('code %i → %s', (code, expected) => {
    expect(classifyCode(code)).toBe(expected);
  });

  it('leaves codes outside the table (and just outside the 200–299 range) unclassified', () => {
    for (const code of [5, 199, 300, 999999]) expect(classifyCode(code)).toBeUndefined();
  });

  it('lists no code twice', () => {
    const codes = META_ERROR_TABLE.flatMap((r) => r.codes);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('classifyResponse', () => {
  const table: Array<[number, number | undefined, ErrorClass]> = [
    [400, 131026, 'permanent'],
    [401, 190, 'halt'],
    [500, 131000, 'transient'], // a code Meta says to retry wins over the 5xx
    [503, 2, 'transient'],
    [400, 130429, 'transient'],
    [401, undefined, 'halt'], // token refused by something that gave no code
    [429, undefined, 'transient'],
    [400, undefined, 'permanent'],
    [404, undefined, 'permanent'],
    [400, 987654, 'permanent'], // unknown code on a 4xx: refused as it is
    [500, undefined, 'uncertain'], // may have been accepted: never resent blindly
    [502, undefined, 'uncertain'],
    [504, undefined, 'uncertain'],
    [500, 987654, 'uncertain'],
  ];
  it.each(table)('HTTP %i with code %s → %s', (status, code, expected) => {
    expect(classifyResponse(status, code)).toBe(expected);
  });
});

describe('classifyNetwork', () => {
  const table: Array<[string, boolean, ErrorClass]> = [
    ['ETIMEDOUT', true, 'uncertain'],
    ['ECONNRESET', true, 'uncertain'],
    ['ERR_CANCELED', true, 'uncertain'],
    ['ETIMEDOUT', false, 'transient'],
    ['ECONNRESET', false, 'transient'],
    ['ECONNREFUSED', false, 'transient'],
    ['ENOTFOUND', false, 'transient'],
    ['EAI_AGAIN', true, 'transient'], // no connection ever existed
  ];
  it.each(table)('%s (whole request written: %s) → %s', (code, sent, expected) => {
    expect(classifyNetwork(code, sent)).toBe(expected);
  });
});

describe('pairRetryAfterMs: 4^X s with X = attempt - 1', () => {
  it.each([
    [1, 1000],
    [2, 4000],
    [3, 16000],
    [4, 64000],
    [6, 1024000],
    [50, 1024000], // capped
    [0, 1000],
  ])('attempt %i → %i ms', (attempt, ms) => {
    expect(pairRetryAfterMs(attempt)).toBe(ms);
  });
});
