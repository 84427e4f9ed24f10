/**
 * What tests of the Python and Go SDKs need: the venv and Go binary from scripts/sdk-build.sh
 * (cached; seconds when nothing changed), and small SQLite helpers run through that venv's
 * Python (its stdlib sqlite3: Node 20 has no SQLite of its own).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/sdk-build.sh', import.meta.url));

export interface SdkBuild {
  /** A Python with tributary_sdk installed. */
  python: string;
  /** The Go example sink binary. */
  goSqliteSink: string;
}

let built: SdkBuild | undefined;

export function sdkBuild(): SdkBuild {
  if (built) return built;
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  const vars = new Map(out.split('\n').map((l) => l.split('=', 2) as [string, string]));
  const python = vars.get('TRIBUTARY_SDK_PYTHON');
  const goSqliteSink = vars.get('TRIBUTARY_SDK_GO_SQLITE_SINK');
  if (!python || !goSqliteSink) throw new Error(`scripts/sdk-build.sh printed no paths:\n${out}`);
  built = { python, goSqliteSink };
  return built;
}

/** Runs `sql` with `params` on `db` and returns the rows. */
export function sqliteRows(python: string, db: string, sql: string, params: unknown[] = []): unknown[][] {
  const code = 'import json,sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nprint(json.dumps(c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()))';
  return JSON.parse(execFileSync(python, ['-c', code, db, sql, JSON.stringify(params)], { encoding: 'utf8' })) as unknown[][];
}

/**
 * Creates (or extends) tables whose rows are verifiable-source values: columns (partition,
 * seq), so each row read by the SQLite source is `{"partition":<table>,"seq":<n>}`. `tables`
 * maps a table to how many rows it should have; rows already there are kept.
 */
export function sqliteSourceFixture(python: string, db: string, tables: Record<string, number>): void {
  const code = [
    'import json,sqlite3,sys',
    'c=sqlite3.connect(sys.argv[1])',
    'for t,n in json.loads(sys.argv[2]).items():',
    '  c.execute(f"CREATE TABLE IF NOT EXISTS {t} (partition TEXT NOT NULL, seq INTEGER NOT NULL)")',
    '  have=c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]',
    '  c.executemany(f"INSERT INTO {t} (partition, seq) VALUES (?, ?)", [(t, i) for i in range(have, n)])',
    'c.commit()',
  ].join('\n');
  execFileSync(python, ['-c', code, db, JSON.stringify(tables)]);
}
