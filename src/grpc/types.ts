import type * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';

export interface CallOptions {
  /** Aborting cancels the call. */
  signal?: AbortSignal;
  /** Deadline for the whole call, in ms from now. */
  timeoutMs?: number;
  /** Request metadata, e.g. `authorization` (merged over the client's own). */
  metadata?: Record<string, string>;
}

type Unary = { methodKind: 'unary'; input: DescMessage; output: DescMessage };
type ServerStreaming = { methodKind: 'server_streaming'; input: DescMessage; output: DescMessage };
type ClientStreaming = { methodKind: 'client_streaming'; input: DescMessage; output: DescMessage };
type BidiStreaming = { methodKind: 'bidi_streaming'; input: DescMessage; output: DescMessage };

type In<M extends { input: DescMessage }> = MessageInitShape<M['input']>;
type Out<M extends { output: DescMessage }> = MessageShape<M['output']>;

/** Client side of one method: promises for single messages, async iterables for streams. */
export type ClientMethod<M> = M extends Unary
  ? (request: In<M>, options?: CallOptions) => Promise<Out<M>>
  : M extends ServerStreaming
    ? (request: In<M>, options?: CallOptions) => AsyncIterable<Out<M>>
    : M extends ClientStreaming
      ? (requests: AsyncIterable<In<M>>, options?: CallOptions) => Promise<Out<M>>
      : M extends BidiStreaming
        ? (requests: AsyncIterable<In<M>>, options?: CallOptions) => AsyncIterable<Out<M>>
        : never;

export type Client<S extends GenServiceMethods> = { [K in keyof S]: ClientMethod<S[K]> } & {
  /** Closes the channel. */
  close(): void;
  /** Resolves once the channel is connected, or rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
};

export interface CallContext {
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  metadata: grpc.Metadata;
  peer: string;
  /** The client's certificate, only over TLS and only when it was verified against the server's CA. */
  peerCertificate?: PeerCertificate;
}

type ReqMsg<M extends { input: DescMessage }> = MessageShape<M['input']>;
type ResInit<M extends { output: DescMessage }> = MessageInitShape<M['output']>;

/** Server side of one method. */
export type ServerMethod<M> = M extends Unary
  ? (request: ReqMsg<M>, context: CallContext) => Promise<ResInit<M>>
  : M extends ServerStreaming
    ? (request: ReqMsg<M>, context: CallContext) => AsyncIterable<ResInit<M>>
    : M extends ClientStreaming
      ? (requests: AsyncIterable<ReqMsg<M>>, context: CallContext) => Promise<ResInit<M>>
      : M extends BidiStreaming
        ? (requests: AsyncIterable<ReqMsg<M>>, context: CallContext) => AsyncIterable<ResInit<M>>
        : never;

export type ServiceImplementation<S extends GenServiceMethods> = { [K in keyof S]: ServerMethod<S[K]> };
