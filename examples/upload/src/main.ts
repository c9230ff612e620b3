import { runScenario } from './scenario.ts';

const rows = Number(process.argv[2] ?? 20_000);
const { file, stream, fileBytes } = await runScenario({ rows });
console.log(
  `Uploading report.csv (${fileBytes} bytes) and two fields; the server answers the first request with a 503.\n`,
);
console.log(
  `file body (FormData + fs.openAsBlob): ${file.result.ok ? 'uploaded' : `failed: ${file.result.decision}`}; ` +
    `the server received ${file.requests} requests, ${file.completeBodies} with the complete file`,
);
console.log(
  `stream body (one-shot):               ${stream.result.ok ? 'uploaded' : `HTTP ${stream.result.status}, not retried: ${stream.result.decision}`}; ` +
    `the server received ${stream.requests} request(s), ${stream.completeBodies} with the complete file`,
);
