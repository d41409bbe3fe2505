/**
 * The staff consoles (/console/): one page for every staff role. Preact renders it; the role of
 * the signed-in session decides which sections exist (the gateway enforces the same rules).
 */
import { render } from 'preact';
import './kit/console.css';
import { App } from './app.tsx';

const root = document.getElementById('app');
if (root === null) throw new Error('page is missing #app');
render(<App />, root);
