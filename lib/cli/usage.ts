/** A mistake in the command line: the message and the usage go to stderr, and the exit code is 2. */
export class UsageError extends Error {}

export const USAGE = `Usage: kinesis-worker <command> [options]

Commands:
  leases <appName>     the lease table: shard, owner, counter, checkpoint, parents, children
                       --json  JSON instead of a table    --watch  redraw every 2 s until Ctrl+C
  reset <appName>      reset every unfinished checkpoint  --to TRIM_HORIZON|LATEST|AT_TIMESTAMP (default TRIM_HORIZON)
                       refuses while leases are owned unless --force; asks first unless --yes
  local                start kinesis-local and dynalite on loopback, create a stream, print the
                       options to paste; Ctrl+C stops them   --stream NAME (default orders)  --shards N (default 4)
  kcl-jars             provision the Java KCL jars for engine 'kcl' (options go to the provisioning script)

AWS options (leases, reset):
  --table NAME                 the lease table, when it is not named after the application
  --region REGION              else AWS_REGION / AWS_DEFAULT_REGION / the profile's region
  --profile NAME               else AWS_PROFILE; credentials come from the SDK's default chain
  --dynamodb-endpoint URL      else AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL
  --kinesis-endpoint URL       else AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL
`;
