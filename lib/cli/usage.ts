/** A mistake in the command line: the message and the usage go to stderr, and the exit code is 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show; the general usage when undefined. */
    readonly command?: string,
  ) {
    super(message);
  }
}

const AWS_OPTIONS = `AWS options:
  --table NAME                 the lease table, when it is not named after the application
  --region REGION              else AWS_REGION / AWS_DEFAULT_REGION / the profile's region (never the EC2 metadata)
  --profile NAME               else AWS_PROFILE; credentials come from the SDK's default chain
  --dynamodb-endpoint URL      else AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL
  --request-timeout SECONDS    how long each attempt waits for DynamoDB (default 30); throttling,
                               5xx and timeouts are retried by the SDK (AWS_MAX_ATTEMPTS sets how often)`;

export const EXIT_CODES = `Exit codes:
  0  done (leases --watch: stopped with Ctrl+C; reset --dry-run: the reset would go ahead)
  1  failed: an AWS error (the message names the table, region and endpoint, and what to check),
     reset refused (leases owned), not confirmed, or leases changed while being reset
  2  usage: an unknown command or option, a missing or bad argument`;

export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  leases: `Usage: kinesis-worker leases <appName> [--json] [--watch] [AWS options]

The lease table: shard, owner, counter, checkpoint (with sub-sequence number), parents, children.
A KCL 3.x hand-over in progress shows as "new <- previous" in OWNER.

  --json     JSON instead of a table: an array of leases
  --watch    show it again every 2 s until Ctrl+C (with --json: one JSON array per line per
             refresh, no escape codes; the screen is cleared only when stdout is a terminal)

${AWS_OPTIONS}

${EXIT_CODES}
`,
  reset: `Usage: kinesis-worker reset <appName> [--to POSITION] [--shard ID]... [--stream NAME]...
                             [--dry-run] [--force] [--yes] [--json] [AWS options]

Moves checkpoints to POSITION, each with a conditional write on the lease counter (a lease that
changed meanwhile is left alone and named). Finished (SHARD_END) leases stay finished. Prints
each checkpoint it overwrites, so that it can be put back.

  --to TRIM_HORIZON|LATEST|AT_TIMESTAMP   default TRIM_HORIZON (AT_TIMESTAMP: the workers'
                                          initialPosition: { timestamp } gives the time)
  --shard ID       only this shard (a shard id, or a lease key); repeatable
  --stream NAME    only the leases of this stream (multi-stream applications); repeatable
  --dry-run        print what would be reset; change nothing, ask nothing
  --force          reset even while leases are owned (leaseOwner, or checkpointOwner during a
                   KCL 3.x hand-over); otherwise it refuses
  --yes            do not ask for the table name (otherwise read from stdin)
  --json           the result as JSON

${AWS_OPTIONS}

${EXIT_CODES}
`,
  local: `Usage: kinesis-worker local [--stream NAME] [--shards N] [--json]

Starts kinesis-local and dynalite on free loopback ports, creates a stream, prints the options
to paste; Ctrl+C stops them. Needs the optional peers kinesis-local and dynalite.

  --stream NAME    default orders
  --shards N       default 4
  --json           the endpoints and options as one JSON document

${EXIT_CODES}
`,
  'kcl-jars': `Usage: kinesis-worker kcl-jars [provisioning options]

Provisions the Java KCL jars for engine 'kcl' (the package's scripts/provision-kcl-jars.js: its
options and KCL_JARS_DIR). Exit code: the script's.
`,
};

export const USAGE = `Usage: kinesis-worker <command> [options]

Commands:
  leases <appName>     the lease table: shard, owner, counter, checkpoint, parents, children
                       --json  JSON instead of a table    --watch  show it again every 2 s until Ctrl+C
  reset <appName>      reset unfinished checkpoints   --to TRIM_HORIZON|LATEST|AT_TIMESTAMP (default TRIM_HORIZON)
                       --shard ID / --stream NAME: only those   --dry-run: say what, change nothing
                       refuses while leases are owned unless --force; asks first unless --yes; --json
  local                start kinesis-local and dynalite on loopback, create a stream, print the
                       options to paste; Ctrl+C stops them   --stream NAME (default orders)  --shards N (default 4)  --json
  kcl-jars             provision the Java KCL jars for engine 'kcl' (options go to the provisioning script)

  kinesis-worker <command> --help    the options of a command
  kinesis-worker --version           the package version

${AWS_OPTIONS.replace('AWS options:', 'AWS options (leases, reset):')}

${EXIT_CODES}
`;
