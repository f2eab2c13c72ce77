// The seed's flag evaluation (services/feature-flags/src/app.js), verbatim,
// wrapped in a stdin/stdout JSON harness for the compatibility tests.
//
// stdin:  {"hash": [str, ...], "eval": [{"config": any, "userId"?: str, "environment"?: str}, ...]}
//         (a missing userId / environment is undefined, as a missing query parameter is)
// stdout: {"hash": [int, ...], "eval": [{"value": any, "truthy": bool} | {"error": str}, ...]}

function evaluateFlag(config, context) {
  // Environment-based rules
  if (config.environments && !config.environments.includes(context.environment)) {
    return false;
  }
  
  // User-based rules
  if (config.userWhitelist && config.userWhitelist.includes(context.userId)) {
    return true;
  }
  
  // Percentage rollout
  if (config.percentage) {
    const hash = simpleHash(context.userId || 'anonymous');
    return (hash % 100) < config.percentage;
  }
  
  return config.enabled || false;
}

function simpleHash(str) {
  let hash = 0;
  for (let i = 0; i < str.length; i++) {
    const char = str.charCodeAt(i);
    hash = ((hash << 5) - hash) + char;
    hash = hash & hash; // Convert to 32bit integer
  }
  return Math.abs(hash);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = { hash: (req.hash || []).map(simpleHash), eval: [] };
  for (const c of req.eval || []) {
    try {
      const value = evaluateFlag(c.config, { userId: c.userId, environment: c.environment });
      out.eval.push({ value, truthy: !!value });
    } catch (e) {
      out.eval.push({ error: String(e && e.message) });
    }
  }
  process.stdout.write(JSON.stringify(out));
});
