/**
 * gRPC server reflection (`grpc.reflection.v1` and the older `v1alpha` that many tools still
 * ask for), so grpcurl and other generic clients can list a worker's services and call them
 * without .proto files. Built from the protobuf-es descriptors embedded in src/gen: each file's
 * FileDescriptorProto is serialised as is, and a file is always followed by the files it
 * imports that were not yet sent on the same stream (what grpc-go does), so a client can
 * resolve every type.
 *
 * Hand-written rather than @grpc/reflection: that package reads @grpc/proto-loader package
 * definitions, which Tributary does not have; protobuf-es already holds every descriptor.
 */
import type * as grpc from '@grpc/grpc-js';
import { createRegistry, toBinary, type DescFile, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { ServerReflection as ReflectionV1 } from '../gen/grpc/reflection/v1/reflection_pb.js';
import { ServerReflection as ReflectionV1Alpha } from '../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { addService } from '../grpc/index.js';

/** The gRPC codes reflection answers with in an ErrorResponse. */
const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** The two reflection services, which every reflecting server also lists. */
export const reflectionServices: readonly DescService[] = [ReflectionV1, ReflectionV1Alpha];

/** A request as both v1 and v1alpha deliver it (the two protos are wire-identical). */
interface Request {
  host: string;
  messageRequest:
    | { case: 'fileByFilename' | 'fileContainingSymbol' | 'allExtensionNumbersOfType' | 'listServices'; value: string }
    | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

/** The request echoed back as plain data (a v1alpha message must not land in a v1 field, or back). */
function echo(request: Request) {
  const r = request.messageRequest;
  const messageRequest = r.case === 'fileContainingExtension' ? { case: r.case, value: { containingType: r.value.containingType, extensionNumber: r.value.extensionNumber } } : r.case === undefined ? { case: undefined } : { case: r.case, value: r.value };
  return { host: request.host, messageRequest };
}

export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly registry;
  private readonly serviceNames: string[];

  /**
   * @param services what the server serves (listed by ListServices)
   * @param extraFiles more files to make resolvable (their imports are added too)
   */
  constructor(services: readonly DescService[], extraFiles: readonly DescFile[] = []) {
    this.serviceNames = [...new Set(services.map((s) => s.typeName))].sort();
    const add = (file: DescFile) => {
      if (this.files.has(file.proto.name)) return;
      this.files.set(file.proto.name, file);
      file.dependencies.forEach(add);
    };
    for (const s of services) add(s.file);
    extraFiles.forEach(add);
    this.registry = createRegistry(...this.files.values());
  }

  listServices(): string[] {
    return [...this.serviceNames];
  }

  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** The file declaring a message, enum, service, method (`pkg.Service.Method`) or extension. */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    const name = symbol.replace(/^\./, '');
    const type = this.registry.get(name);
    if (type) return type.file;
    const dot = name.lastIndexOf('.');
    const service = dot > 0 ? this.registry.getService(name.slice(0, dot)) : undefined;
    return service?.methods.some((m) => m.name === name.slice(dot + 1)) ? service.file : undefined;
  }

  fileContainingExtension(extendee: string, number: number): DescFile | undefined {
    const message = this.registry.getMessage(extendee.replace(/^\./, ''));
    return message ? this.registry.getExtensionFor(message, number)?.file : undefined;
  }

  extensionNumbers(extendee: string): number[] | undefined {
    const message = this.registry.getMessage(extendee.replace(/^\./, ''));
    if (!message) return undefined;
    const numbers: number[] = [];
    for (const t of this.registry) if (t.kind === 'extension' && t.extendee.typeName === message.typeName) numbers.push(t.number);
    return numbers.sort((a, b) => a - b);
  }

  /** Serves one ServerReflectionInfo stream. */
  async *serve(requests: AsyncIterable<Request>) {
    const sent = new Set<string>();
    // `file` first, then its imports this stream has not seen yet, dependencies before dependents.
    const withDependencies = (file: DescFile): Uint8Array[] => {
      const out: DescFile[] = [file];
      sent.add(file.proto.name);
      const visit = (f: DescFile) => {
        for (const dep of f.dependencies) {
          if (sent.has(dep.proto.name)) continue;
          sent.add(dep.proto.name);
          out.push(dep);
          visit(dep);
        }
      };
      visit(file);
      return out.map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
    };
    const files = (file: DescFile | undefined, what: string) =>
      file
        ? { case: 'fileDescriptorResponse' as const, value: { fileDescriptorProto: withDependencies(file) } }
        : { case: 'errorResponse' as const, value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };

    for await (const request of requests) {
      const r = request.messageRequest;
      let messageResponse;
      switch (r.case) {
        case 'listServices':
          messageResponse = { case: 'listServicesResponse' as const, value: { service: this.listServices().map((name) => ({ name })) } };
          break;
        case 'fileByFilename':
          messageResponse = files(this.fileByName(r.value), `file "${r.value}"`);
          break;
        case 'fileContainingSymbol':
          messageResponse = files(this.fileContainingSymbol(r.value), `symbol "${r.value}"`);
          break;
        case 'fileContainingExtension':
          messageResponse = files(this.fileContainingExtension(r.value.containingType, r.value.extensionNumber), `extension ${r.value.extensionNumber} of "${r.value.containingType}"`);
          break;
        case 'allExtensionNumbersOfType': {
          const numbers = this.extensionNumbers(r.value);
          messageResponse = numbers
            ? { case: 'allExtensionNumbersResponse' as const, value: { baseTypeName: r.value, extensionNumber: numbers } }
            : { case: 'errorResponse' as const, value: { errorCode: NOT_FOUND, errorMessage: `type "${r.value}" not found` } };
          break;
        }
        default:
          messageResponse = { case: 'errorResponse' as const, value: { errorCode: UNIMPLEMENTED, errorMessage: 'unknown reflection request' } };
      }
      yield { validHost: request.host, originalRequest: echo(request), messageResponse };
    }
  }
}

/**
 * Adds reflection (v1 and v1alpha) to `server`, describing `services` (the reflection services
 * are listed too) and making `extraFiles` resolvable by name and symbol.
 */
export function addReflection(server: grpc.Server, services: readonly DescService[], extraFiles: readonly DescFile[] = []): ReflectionIndex {
  const index = new ReflectionIndex([...services, ...reflectionServices], extraFiles);
  addService(server, ReflectionV1, { serverReflectionInfo: (requests) => index.serve(requests) });
  addService(server, ReflectionV1Alpha, { serverReflectionInfo: (requests) => index.serve(requests) });
  return index;
}
