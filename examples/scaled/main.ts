/** The scaled example (stack.ts) on one Docker host. */
import { App } from 'cdktf';
import { ScaledStack } from './stack';

const app = new App();
new ScaledStack(app, 'scaled');
app.synth();
