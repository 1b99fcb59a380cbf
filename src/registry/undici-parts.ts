// The parts of undici this client uses: its proxy-aware agent and the Dispatcher request API.
// undici's index also loads fetch, WebSocket, the Cache API, cookies, mock agents and the SQLite
// cache store; loading only these parts takes ~15 ms less CPU in every run that makes a request.
// The index is what installs `request`, `connect` & co. on Dispatcher.prototype (ProxyAgent's
// tunnel uses `connect`), so this module does the same before any agent exists.
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';

Object.assign(Dispatcher.prototype, api);

export { EnvHttpProxyAgent };
