/** File name of the desired-state manifest synth writes beside each stack's cdk.tf.json, and apps are read back from. */
export const MANIFEST_FILE = 'livestack.manifest.json';
