/**
 * The Java KCL lines the engine runs. 2.7.2 is the line the npm package aws-kcl's pom.xml lists; every
 * other line is resolved from Maven Central by scripts/provision-kcl-jars.js (KCL_LINES there).
 */
export const AWS_KCL_POM_LINE = '2.7.2';
/** The newest 3.x line Maven Central served when this was written; provisioned by default next to 2.7.2. */
export const KCL_3_LINE = '3.1.3';
/**
 * The line used when neither kcl.version nor KCL_VERSION says: 3.x, since every kcl-engine e2e suite
 * passes on it (docs/kcl-engine.md, "KCL 3.x"). kcl.version: '2.7.2' keeps the 2.x line.
 */
export const KCL_DEFAULT_VERSION = KCL_3_LINE;

export const kclMajor = (version: string): number => Number(version.split('.')[0]);

/** KCL 3.x and later: lease assignment by a leader, the lease-owner GSI, worker metrics and coordinator state tables. */
export const isKcl3 = (version: string): boolean => kclMajor(version) >= 3;

/** Where the provisioning script puts a line's jars: the base directory for aws-kcl's line, <base>-<version> for the others. */
export function defaultJarsDir(version: string, base: string): string {
  return version === AWS_KCL_POM_LINE ? base : `${base}-${version}`;
}
