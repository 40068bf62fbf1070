// keyward.d.ts is written by hand. This test checks it against keyward.js itself: TypeScript
// generates declarations from the JSDoc in keyward.js, and every export of the hand-written file
// must exist there with an identical type (and vice versa, except `_`-prefixed internal typedefs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const sdkDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const jsFile = path.join(sdkDir, "keyward.js");
const dtsFile = path.join(sdkDir, "keyward.d.ts");

const baseOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.dom.d.ts", "lib.es2022.d.ts"],
  strict: true,
  types: [],
};

/** @param {readonly ts.Diagnostic[]} diagnostics */
function format(diagnostics) {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => sdkDir,
    getNewLine: () => "\n",
  });
}

/**
 * Export names of a module, split into values and type-only names.
 * @param {ts.Program} program
 * @param {string} file
 */
function exportsOf(program, file) {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  assert.ok(source, `${file} is in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${file} is a module`);
  const values = new Set();
  const types = new Set();
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    if (symbol.flags & ts.SymbolFlags.Value) values.add(symbol.name);
    else types.add(symbol.name);
  }
  return { values, types };
}

// Type-checking two programs takes seconds of CPU; on a loaded 2-core machine it can pass 15 s.
test("keyward.d.ts agrees with the JSDoc types of keyward.js", { timeout: 120_000 }, (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "keyward-dts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const genDir = path.join(dir, "gen");

  // 1. Declarations generated from keyward.js.
  const emitProgram = ts.createProgram([jsFile], {
    ...baseOptions,
    allowJs: true,
    checkJs: true,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: genDir,
  });
  const emitted = emitProgram.emit();
  const emitDiagnostics = [...ts.getPreEmitDiagnostics(emitProgram), ...emitted.diagnostics];
  assert.equal(format(emitDiagnostics), "", "keyward.js type-checks and emits declarations");
  const genFile = path.join(genDir, "keyward.d.ts");

  // 2. Same export names.
  const listing = ts.createProgram([genFile, dtsFile], { ...baseOptions, noEmit: true });
  const generated = exportsOf(listing, genFile);
  const handWritten = exportsOf(listing, dtsFile);
  assert.deepEqual([...handWritten.values].sort(), [...generated.values].sort(), "same runtime exports");
  const publicGeneratedTypes = [...generated.types].filter((name) => !name.startsWith("_"));
  assert.deepEqual([...handWritten.types].sort(), publicGeneratedTypes.sort(), "same exported types");

  // 3. Identical types, export by export (classes: constructor side and instance side).
  const checks = [
    "type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;",
    "declare function same<T extends true>(): void;",
    `import * as Gen from ${JSON.stringify("./gen/keyward.js")};`,
    `import * as Hand from ${JSON.stringify(dtsFile.replace(/\.d\.ts$/, ".js"))};`,
  ];
  for (const name of handWritten.types) {
    checks.push(`same<Equal<Gen.${name}, Hand.${name}>>(); // type ${name}`);
  }
  for (const name of handWritten.values) {
    checks.push(`same<Equal<typeof Gen.${name}, typeof Hand.${name}>>(); // value ${name}`);
    checks.push(
      `same<Equal<typeof Gen.${name} extends abstract new (...a: any) => infer I ? I : 0, typeof Hand.${name} extends abstract new (...a: any) => infer I ? I : 0>>(); // instance ${name}`,
    );
  }
  const checkFile = path.join(dir, "check.ts");
  writeFileSync(checkFile, checks.join("\n") + "\n");
  const compare = ts.createProgram([checkFile], { ...baseOptions, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(compare);
  const report = diagnostics
    .map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      return `${checks[line] ?? ""}\n  ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    })
    .join("\n");
  assert.equal(report, "", "every export of keyward.d.ts matches keyward.js");
  assert.ok(checks.length > 4 + handWritten.types.size, "the comparison covered the exports");
});
