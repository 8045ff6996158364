// The SDK warns once per client that releases after January 2027 need Node 22; our target is Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
