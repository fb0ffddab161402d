import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { connectLab } from './lib/api/lab';

const target = document.getElementById('app');
if (!target) throw new Error('kdlab: #app is missing from index.html');
mount(App, { target, props: { connection: connectLab() } });
