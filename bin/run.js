#!/usr/bin/env node
import {execute} from '@oclif/core'

// sai pins the AWS SDK with its lock file (it runs on Node 20 and 22+); its Node 20 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await execute({dir: import.meta.url})
