// Validates Kubernetes objects offline against the OpenAPI schemas bundled in `kubernetes-models`
// (an ES module, hence a child process of its own): reads a JSON array of objects on stdin, prints a
// JSON array of `{ index, kind, name, error? }`, one per object. An unknown apiVersion/kind is an error.
const MODELS = {
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'networking.k8s.io/v1/NetworkPolicy': 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const [index, object] of JSON.parse(input).entries()) {
  const key = `${object.apiVersion}/${object.kind}`;
  const result = { index, kind: object.kind, name: object.metadata?.name };
  const module = MODELS[key];
  if (!module) {
    results.push({ ...result, error: `no schema for ${key}` });
    continue;
  }
  const model = Object.values(await import(module))[0];
  try {
    new model(object).validate();
    results.push(result);
  } catch (error) {
    results.push({ ...result, error: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
