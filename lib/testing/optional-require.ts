/** Loads an emulator package that this library lists as an optional peer dependency. */
export function optionalResolve(name: string, subpath = ''): string {
  try {
    return require.resolve(`${name}${subpath}`);
  } catch {
    throw new Error(`The local emulators need the npm package '${name}': run npm install --save-dev kinesis-local dynalite`);
  }
}
