/**
 * JSON text as Jackson (Kafka Connect's JSON library) reads and writes it. JSON.parse cannot be
 * used: Kafka Connect tells `1` (an integral node, INT64 when schemaless) from `1.0` (FLOAT64),
 * keeps integers beyond 2^53 exact, and keeps an object's keys in document order (JS objects
 * put integer-like keys first). JSON.stringify writes doubles differently from Java
 * (`1` vs `1.0`, `1e+21` vs `1.0E21`) and escapes control characters in lower case. Both
 * directions are small and live here, checked byte for byte against golden files written by
 * Kafka Connect itself (test/fixtures/kafka-connect-golden).
 */
import { DataError } from './data.js';

/**
 * A parsed JSON node: an integral number is a `bigint`, a number with a fraction or exponent a
 * JsonFloat (Jackson's DecimalNode), an object a Map in document order.
 */
export type JsonNode = null | boolean | string | bigint | JsonFloat | JsonNode[] | Map<string, JsonNode>;

/** A number with a fraction or an exponent, with its text (Jackson keeps it as an exact BigDecimal). */
export class JsonFloat {
  constructor(
    readonly value: number,
    readonly text: string,
  ) {}
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new DataError(`Converting byte[] to Kafka Connect data failed due to serialization error: ${what} at character ${this.pos}`);
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  value(): JsonNode {
    this.ws();
    const t = this.text;
    const c = t[this.pos];
    switch (c) {
      case '{': {
        this.pos++;
        const m = new Map<string, JsonNode>();
        this.ws();
        if (t[this.pos] === '}') {
          this.pos++;
          return m;
        }
        for (;;) {
          this.ws();
          if (t[this.pos] !== '"') this.fail('expected a field name');
          const k = this.string();
          this.ws();
          if (t[this.pos] !== ':') this.fail("expected ':'");
          this.pos++;
          m.set(k, this.value());
          this.ws();
          const sep = t[this.pos++];
          if (sep === '}') return m;
          if (sep !== ',') this.fail("expected ',' or '}'");
        }
      }
      case '[': {
        this.pos++;
        const a: JsonNode[] = [];
        this.ws();
        if (t[this.pos] === ']') {
          this.pos++;
          return a;
        }
        for (;;) {
          a.push(this.value());
          this.ws();
          const sep = t[this.pos++];
          if (sep === ']') return a;
          if (sep !== ',') this.fail("expected ',' or ']'");
        }
      }
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  literal<T extends JsonNode>(word: string, v: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unrecognized token');
    this.pos += word.length;
    return v;
  }

  number(): bigint | JsonFloat {
    const t = this.text;
    const start = this.pos;
    if (t[this.pos] === '-') this.pos++;
    const digitsFrom = this.pos;
    while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
    if (this.pos === digitsFrom) this.fail('unexpected character');
    if (t[digitsFrom] === '0' && this.pos - digitsFrom > 1) this.fail('leading zeroes not allowed');
    let floating = false;
    if (t[this.pos] === '.') {
      floating = true;
      this.pos++;
      const f = this.pos;
      while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
      if (this.pos === f) this.fail('decimal point must be followed by a digit');
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      floating = true;
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      const e = this.pos;
      while (this.pos < t.length && t.charCodeAt(this.pos) >= 0x30 && t.charCodeAt(this.pos) <= 0x39) this.pos++;
      if (this.pos === e) this.fail('exponent must have a digit');
    }
    const s = t.slice(start, this.pos);
    return floating ? new JsonFloat(Number(s), s) : BigInt(s);
  }

  string(): string {
    const t = this.text;
    this.pos++;
    let out = '';
    let from = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(from, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('illegal unquoted control character in a string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(from, this.pos);
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.fail('unrecognized character escape');
      }
      from = this.pos;
    }
  }
}

/** Parses one JSON document (trailing whitespace allowed, nothing else). Throws DataError. */
export function parseJson(text: string): JsonNode {
  const p = new Parser(text);
  const v = p.value();
  p.ws();
  if (p.pos !== text.length) p.fail('trailing content after the JSON value');
  return v;
}

const HEX = '0123456789ABCDEF';

/**
 * A JSON string literal as Jackson writes it: short escapes for \b \t \n \f \r, other control
 * characters and every UTF-16 surrogate (characters beyond the BMP) as upper-case \uXXXX.
 */
export function quoteJson(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      needs = true;
      break;
    }
  }
  if (!needs) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0xd800 && c <= 0xdfff) out += `\\u${c.toString(16).toUpperCase()}`;
    else if (c >= 0x20) out += s[i];
    else if (c === 0x08) out += '\\b';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0d) out += '\\r';
    else out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  return `${out}"`;
}

/** Java's Double.toString for a finite or non-finite double. */
export function javaDoubleString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  return javaFormat(x < 0, jdk17DoubleDigits(x));
}

/** FloatingDecimal.insignificantDigitsNumber (JDK 17): decimal digits below a power of two's precision. */
const INSIGNIFICANT_DIGITS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 17, 17, 17, 18, 18, 18, 19];
/** Bit length of 5^i for the 5^i that fit a long (FloatingDecimal's N_5_BITS). */
const N_5_BITS = Array.from({ length: 27 }, (_, i) => (i === 0 ? 0 : (5n ** BigInt(i)).toString(2).length));
const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1);
const F64_BITS = new BigUint64Array(F64.buffer);

/**
 * The decimal digits and exponent (value = 0.DIGITS × 10^decExp) that JDK 17's Float.toString
 * and Double.toString print, following FloatingDecimal's algorithm: integral floats below 2^63 print their exact
 * digits minus the ones below the float's precision (rounded half up); others run Steele & White's
 * digit generation with a symmetric half-ULP margin, stopping at the first digit where truncating
 * (or rounding up) stays within it, so the result is short but not always the closest
 * (6.5302626E25 for 65302626942436419567616000). JDK 19+ prints the shortest closest form instead
 * (JDK-4511638); Kafka Connect's golden files are from JDK 17. Int and long arithmetic is emulated
 * where FloatingDecimal uses it, overflow checks included, since its stopping test differs there.
 */
function jdk17FloatDigits(f: number): { digits: string; decExp: number } {
  F32[0] = f;
  const bits = F32_BITS[0]!;
  let fract = bits & 0x7fffff;
  let binExp = (bits >>> 23) & 0xff;
  let nSignificantBits: number;
  if (binExp === 0) {
    const leadingZeros = Math.clz32(fract);
    const shift = leadingZeros - 8;
    fract <<= shift;
    binExp = 1 - shift;
    nSignificantBits = 32 - leadingZeros;
  } else {
    fract |= 0x800000;
    nSignificantBits = 24;
  }
  binExp -= 127;
  // FloatingDecimal runs a float through the double routine: the hidden bit at bit 52.
  return jdk17Digits(BigInt(fract) << 29n, binExp, nSignificantBits);
}

/** jdk17Digits for a finite non-zero double (FloatingDecimal.getBinaryToASCIIConverter(double)). */
function jdk17DoubleDigits(d: number): { digits: string; decExp: number } {
  F64[0] = d;
  const bits = F64_BITS[0]!;
  let fractBits = bits & 0xfffffffffffffn;
  let binExp = Number((bits >> 52n) & 0x7ffn);
  let nSignificantBits: number;
  if (binExp === 0) {
    const leadingZeros = 64 - fractBits.toString(2).length;
    const shift = leadingZeros - 11;
    fractBits <<= BigInt(shift);
    binExp = 1 - shift;
    nSignificantBits = 64 - leadingZeros;
  } else {
    fractBits |= 1n << 52n;
    nSignificantBits = 53;
  }
  return jdk17Digits(fractBits, binExp - 1023, nSignificantBits);
}

/** FloatingDecimal.BinaryToASCIIBuffer.dtoa (compatible format) for a 53-bit significand with its hidden bit at bit 52. */
function jdk17Digits(fractBits: bigint, binExp: number, nSignificantBits: number): { digits: string; decExp: number } {
  const tailZeros = ctz64(fractBits);
  const nFractBits = 53 - tailZeros;
  const nTinyBits = Math.max(0, nFractBits - binExp - 1);
  if (binExp <= 62 && binExp >= -21 && nTinyBits < 27 && nFractBits + N_5_BITS[nTinyBits]! < 64 && nTinyBits === 0) {
    const p2 = binExp - nSignificantBits - 1;
    const insignificant = binExp > nSignificantBits && p2 > 1 && p2 < INSIGNIFICANT_DIGITS.length ? INSIGNIFICANT_DIGITS[p2]! : 0;
    let n = binExp >= 52 ? fractBits << BigInt(binExp - 52) : fractBits >> BigInt(52 - binExp);
    let decExp = 0;
    if (insignificant !== 0) {
      const pow10 = 10n ** BigInt(insignificant);
      const residue = n % pow10;
      n /= pow10;
      decExp += insignificant;
      if (residue >= pow10 >> 1n) n += 1n;
    }
    const all = n.toString();
    const digits = all.replace(/0+$/, '');
    return { digits, decExp: decExp + all.length };
  }
  let decExp = estimateDecExp(fractBits, binExp);
  const B5 = Math.max(0, -decExp);
  let B2 = B5 + nTinyBits + binExp;
  const S5 = Math.max(0, decExp);
  let S2 = S5 + nTinyBits;
  const M5 = B5;
  let M2 = B2 - nSignificantBits;
  fractBits >>= BigInt(tailZeros);
  B2 -= nFractBits - 1;
  const common = Math.min(B2, S2);
  B2 -= common;
  S2 -= common;
  M2 -= common;
  if (nFractBits === 1) M2 -= 1; // the gap below a power of two is half as wide
  if (M2 < 0) {
    B2 -= M2;
    S2 -= M2;
    M2 = 0;
  }
  const Bbits = nFractBits + B2 + (B5 < N_5_BITS.length ? N_5_BITS[B5]! : B5 * 3);
  const tenSbits = S2 + 1 + (S5 + 1 < N_5_BITS.length ? N_5_BITS[S5 + 1]! : (S5 + 1) * 3);
  // FloatingDecimal picks int, long or big-integer arithmetic; the first two wrap on overflow and
  // compare `b + m > tens`, the third compares `b + m >= tens`.
  const width = Bbits < 32 && tenSbits < 32 ? 32 : Bbits < 64 && tenSbits < 64 ? 64 : 0;
  const wrap = (x: bigint): bigint => (width === 0 ? x : BigInt.asIntN(width, x));
  let b = wrap((fractBits * 5n ** BigInt(B5)) << BigInt(B2));
  const sv = wrap(5n ** BigInt(S5) << BigInt(S2));
  let m = wrap(5n ** BigInt(M5) << BigInt(M2));
  const tens = wrap(sv * 10n);
  const highTest = (bb: bigint, mm: bigint): boolean => (width === 0 ? bb + mm >= tens : wrap(bb + mm) > tens);
  let digits = '';
  let q = Number(b / sv);
  b = wrap(10n * (b % sv));
  m = wrap(m * 10n);
  let low = b < m;
  let high = highTest(b, m);
  if (q === 0 && !high) decExp--;
  else digits += String(q);
  // At least two digits in E-form (Java always prints one after the point).
  if (decExp < -3 || decExp >= 8) high = low = false;
  while (!low && !high) {
    q = Number(b / sv);
    b = wrap(10n * (b % sv));
    m = wrap(m * 10n);
    if (width === 0 || m > 0n) {
      low = b < m;
      high = highTest(b, m);
    } else {
      low = true; // m overflowed: FloatingDecimal stops here
      high = true;
    }
    digits += String(q);
  }
  const lowDigitDifference = width === 0 ? (low && high ? (b << 1n) - tens : 0n) : wrap((b << 1n) - tens);
  let exp = decExp + 1;
  const roundup = (): void => {
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === '9') i--;
    if (i < 0) {
      digits = '1';
      exp += 1;
    } else digits = digits.slice(0, i) + String(Number(digits[i]) + 1) + '0'.repeat(digits.length - 1 - i);
  };
  if (high) {
    if (low) {
      if (lowDigitDifference === 0n) {
        if (Number(digits[digits.length - 1]) % 2 !== 0) roundup();
      } else if (lowDigitDifference > 0n) roundup();
    } else roundup();
  }
  return { digits: digits.replace(/0+$/, '') || '0', decExp: exp };
}

/** FloatingDecimal.estimateDecExp: floor(log10) estimated with the same double arithmetic. */
function estimateDecExp(fractBits: bigint, binExp: number): number {
  const d2 = 1 + Number(fractBits & 0xfffffffffffffn) / 2 ** 52;
  const d = (d2 - 1.5) * 0.289529654 + 0.176091259 + binExp * 0.301029995663981;
  return Math.floor(d);
}

function ctz64(n: bigint): number {
  let c = 0;
  while (c < 64 && ((n >> BigInt(c)) & 1n) === 0n) c++;
  return c;
}

/** Java's Float.toString (JDK 17's FloatingDecimal, see jdk17FloatDigits) for a value already rounded to float32. */
export function javaFloatString(x: number): string {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return 'Infinity';
  if (f === -Infinity) return '-Infinity';
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  return javaFormat(f < 0, jdk17FloatDigits(f));
}

/** FloatingDecimal.toJavaFormatString: plain between 10^-3 and 10^7, else d.dddE±n. */
function javaFormat(negative: boolean, { digits, decExp }: { digits: string; decExp: number }): string {
  const sign = negative ? '-' : '';
  if (decExp > 0 && decExp < 8) {
    return digits.length <= decExp ? `${sign}${digits}${'0'.repeat(decExp - digits.length)}.0` : `${sign}${digits.slice(0, decExp)}.${digits.slice(decExp)}`;
  }
  if (decExp <= 0 && decExp > -3) return `${sign}0.${'0'.repeat(-decExp)}${digits}`;
  return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${decExp - 1}`;
}

/** A JSON number for a double as Jackson writes it (non-finite values quoted, as Jackson's default). */
export function jsonDouble(x: number): string {
  return Number.isFinite(x) ? javaDoubleString(x) : `"${javaDoubleString(x)}"`;
}

export function jsonFloat(x: number): string {
  return Number.isFinite(x) ? javaFloatString(x) : `"${javaFloatString(x)}"`;
}

/** Java's BigDecimal.toString (scientific notation when the exponent is small or negative scale). */
export function javaBigDecimalString(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  const adjusted = digits.length - 1 - scale;
  let body: string;
  if (scale >= 0 && adjusted >= -6) {
    if (scale === 0) body = digits;
    else if (digits.length > scale) body = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
    else body = `0.${'0'.repeat(scale - digits.length)}${digits}`;
  } else {
    body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body += `E${adjusted >= 0 ? '+' : ''}${adjusted}`;
  }
  return negative ? `-${body}` : body;
}
