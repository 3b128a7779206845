// Checks on the code's seams that anyone can run (README, "Layout"): every exported name is imported somewhere,
// callers hold a SweepExecutor and never test for a concrete one, only src/sweep/executors.ts makes one, and the
// compiled WebGPU step states what is present instead of asserting it with `!`. Read with the TypeScript compiler's
// parser, so comments and strings never count.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    parsed.set(file, source);
  }
  return source;
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The values a module exports by declaration (`export function f`, `export const a`, `export { b }`); types are its documentation. */
function exportedNames(source: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement)
      ? ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
      : false;
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause))
      names.push(...statement.exportClause.elements.map((e) => e.name.text));
    if (!exported || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) continue;
    if (ts.isVariableStatement(statement))
      names.push(...statement.declarationList.declarations.map((d) => d.name.getText(source)));
    else if ('name' in statement && statement.name && ts.isIdentifier(statement.name as ts.Node))
      names.push((statement.name as ts.Identifier).text);
  }
  return names;
}

/** What a file takes from each module it imports: names, or '*' for a namespace import or a re-export of all. */
function importedNames(file: string, source: ts.SourceFile): Map<string, Set<string>> {
  const taken = new Map<string, Set<string>>();
  const take = (spec: string, names: string[]) => {
    if (!spec.startsWith('.')) return;
    const target = relative(root, resolve(root, dirname(file), spec)) + '.ts';
    const set = taken.get(target) ?? new Set<string>();
    names.forEach((n) => set.add(n));
    taken.set(target, set);
  };
  walk(source, (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      const names = !bindings
        ? ['default']
        : ts.isNamespaceImport(bindings)
          ? ['*']
          : bindings.elements.map((e) => (e.propertyName ?? e.name).text);
      take(node.moduleSpecifier.text, names);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      take(
        node.moduleSpecifier.text,
        clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : ['*'],
      );
    } else if (ts.isCallExpression(node) && node.arguments.length && ts.isStringLiteral(node.arguments[0])) {
      const dynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      if (dynamic || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
        take(node.arguments[0].text, ['*']);
    }
  });
  return taken;
}

/** Exports of the product's modules that no other file imports, as `FILE: NAME`; entry points' are their API. */
function unusedExports(products: string[], readers: string[], entryPoints: Record<string, string[]>): string[] {
  const used = new Map<string, Set<string>>();
  for (const file of readers) {
    for (const [target, names] of importedNames(file, parse(file))) {
      const set = used.get(target) ?? new Set<string>();
      names.forEach((n) => set.add(n));
      used.set(target, set);
    }
  }
  return products.flatMap((file) => {
    const names = used.get(file);
    if (names?.has('*')) return [];
    return exportedNames(parse(file))
      .filter((name) => !names?.has(name) && !entryPoints[file]?.includes(name))
      .map((name) => `${file}: ${name}`);
  });
}

/** Where a file uses `!` to say a value is present: its line and the expression. */
function nonNullAssertions(file: string): string[] {
  const source = parse(file);
  const found: string[] = [];
  walk(source, (node) => {
    if (!ts.isNonNullExpression(node)) return;
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    found.push(`${file}:${line} ${node.getText(source)}`);
  });
  return found;
}

const product = () => [...sources('src'), ...sources('webview')];
const everyReader = () => [...product(), ...sources('test'), ...sources('bench'), ...sources('scripts')];

/** Names the runtime reads, not an import: VS Code's extension entry points. */
const ENTRY_POINTS: Record<string, string[]> = { 'src/client/extension.ts': ['activate', 'deactivate'] };

describe('seams', () => {
  it('every export of src and webview is imported by another file', () => {
    assert.deepEqual(unusedExports(product(), everyReader(), ENTRY_POINTS), []);
  });

  it('finds an export nothing imports, and counts a namespace import as using all', () => {
    assert.deepEqual(
      exportedNames(
        ts.createSourceFile(
          'a.ts',
          'export const a = 1, b = 2;\nexport function f() {}\nconst c = 3;\nexport { c };\nexport interface I {}',
          ts.ScriptTarget.Latest,
          true,
        ),
      ),
      ['a', 'b', 'f', 'c'],
    );
    const reader = ts.createSourceFile(
      'src/x/b.ts',
      "import { a } from '../y/a';\nimport * as all from './c';\nconst m = await import('./d');",
      ts.ScriptTarget.Latest,
      true,
    );
    const taken = importedNames('src/x/b.ts', reader);
    assert.deepEqual(
      [...taken.entries()].map(([k, v]) => [k, [...v]]),
      [
        ['src/y/a.ts', ['a']],
        ['src/x/c.ts', ['*']],
        ['src/x/d.ts', ['*']],
      ],
    );
  });

  it('no code tests for a concrete executor, and only src/sweep/executors.ts makes one', () => {
    const found = product().flatMap((file) => {
      const source = parse(file);
      const hits: string[] = [];
      walk(source, (node) => {
        const isInstanceof = ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword;
        if (isInstanceof && /Executor$/.test(node.right.getText(source))) hits.push(`${file}: ${node.getText(source)}`);
        const made = ts.isNewExpression(node) && /Executor$/.test(node.expression.getText(source));
        if (made && file !== 'src/sweep/executors.ts') hits.push(`${file}: ${node.getText(source)}`);
      });
      return hits;
    });
    assert.deepEqual(found, []);
  });

  it('no `!` non-null assertion in the compiled WebGPU step', () => {
    assert.deepEqual(sources('src/trainer/compiled').flatMap(nonNullAssertions), []);
  });
});
