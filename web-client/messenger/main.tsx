/**
 * The messenger page (served only by the local `telehealth messenger` app on 127.0.0.1): Preact
 * renders it; every piece of data comes from that app's local API, never from the gateway.
 */
import { render } from 'preact';
import './messenger.css';
import { App } from './app.tsx';

const root = document.getElementById('app');
if (root === null) throw new Error('page is missing #app');
render(<App />, root);
