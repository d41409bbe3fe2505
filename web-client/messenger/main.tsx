import { render } from 'preact';

const root = document.getElementById('app');
if (root === null) throw new Error('page is missing #app');
render(<p>Messenger</p>, root);
