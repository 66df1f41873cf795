import type { Scenario } from "./convergence.js";

/**
 * Shrunk counterexamples the convergence property once found (docs/mutation.md): each replays as
 * one more example of the property, however the generator changes.
 */
export const counterexamples: Array<{ seed: number; story: string; example: Scenario }> = [
  {
    seed: 1619260824,
    story: "a CRM snapshot naming a line by id alone meets its tombstone after a start re-created the line",
    example: {
      initial: [],
      other: [],
      actions: [
        { kind: "replace", side: "crm", quote: 0, tie: false, lines: [] },
        {
          kind: "add",
          side: "crm",
          quote: 0,
          tie: false,
          values: { productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" },
        },
        {
          kind: "edit",
          side: "crm",
          quote: 0,
          tie: false,
          index: 0,
          values: { productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" },
        },
        { kind: "burst", index: 18, count: 2 },
        { kind: "duplicate", index: 2 },
        { kind: "snapshot", side: "crm", quote: 0, tie: false },
        { kind: "header", side: "crm", quote: 0, tie: false },
        {
          kind: "add",
          side: "crm",
          quote: 0,
          tie: false,
          values: { productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" },
        },
        { kind: "start", quote: 1 },
        { kind: "stop" },
        { kind: "start", quote: 0 },
      ],
      drainOrder: [0],
    },
  },
  {
    seed: 98906461,
    story: "a CRM line re-created from a second delivery of a mirror is deleted by the next start",
    example: {
      initial: [{ productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" }],
      other: [],
      actions: [
        { kind: "start", quote: 1 },
        { kind: "stop" },
        { kind: "duplicate", index: 0 },
        { kind: "snapshot", side: "crm", quote: 0, tie: false },
        { kind: "burst", index: 13, count: 3 },
        { kind: "burst", index: 0, count: 3 },
        { kind: "start", quote: 1 },
        { kind: "stop" },
        { kind: "burst", index: 11, count: 4 },
        { kind: "duplicate", index: 0 },
        { kind: "start", quote: 1 },
        { kind: "duplicate", index: 0 },
      ],
      drainOrder: [0],
    },
  },
  {
    seed: 1823355393,
    story: "a quote line edited before the CPQ's snapshot that left it out stays deleted while stopped",
    example: {
      initial: [{ productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" }],
      other: [],
      actions: [
        { kind: "deliver", index: 0 },
        { kind: "remove", side: "crm", quote: 0, tie: false, index: 0 },
        { kind: "burst", index: 0, count: 2 },
        { kind: "burst", index: 21, count: 2 },
        {
          kind: "edit",
          side: "cpq",
          quote: 0,
          tie: false,
          index: 0,
          values: { productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" },
        },
        { kind: "duplicate", index: 5 },
        { kind: "stop" },
        { kind: "replace", side: "cpq", quote: 0, tie: false, lines: [] },
        { kind: "snapshot", side: "crm", quote: 0, tie: false },
        { kind: "burst", index: 34, count: 2 },
        { kind: "duplicate", index: 0 },
        { kind: "snapshot", side: "crm", quote: 0, tie: false },
        {
          kind: "add",
          side: "crm",
          quote: 0,
          tie: false,
          values: { productId: "p-a", quantity: "1", unitPrice: "10", discountPercent: "0" },
        },
      ],
      drainOrder: [0],
    },
  },
];
