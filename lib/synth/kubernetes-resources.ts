/**
 * Rendered Kubernetes objects (lib/render/kubernetes-objects.ts) -> @cdktf/provider-kubernetes
 * resources: a renaming of fields into the provider's schema (singular block names, int-or-string as
 * strings), no decisions, so `cdktf deploy` creates the objects the YAML output describes (a test holds
 * them equal). A Secret fed by sensitive variables is the one object only this output has: Terraform
 * fills it from `${var.NAME}`, so no value enters cdk.tf.json. Provider classes are imported by path.
 */
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { ConfigMapV1 } from '@cdktf/provider-kubernetes/lib/config-map-v1';
import { DeploymentV1, DeploymentV1SpecTemplateSpecContainer } from '@cdktf/provider-kubernetes/lib/deployment-v1';
import { HorizontalPodAutoscalerV2 } from '@cdktf/provider-kubernetes/lib/horizontal-pod-autoscaler-v2';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { NetworkPolicyV1 } from '@cdktf/provider-kubernetes/lib/network-policy-v1';
import { PersistentVolumeClaimV1 } from '@cdktf/provider-kubernetes/lib/persistent-volume-claim-v1';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { ServiceV1 } from '@cdktf/provider-kubernetes/lib/service-v1';
import { WorkloadSpec } from '../contract/workload-spec';
import { AccountManifest, KubernetesPlatform } from '../model/manifest';
import { Container, Deployment, KubernetesObject, kubernetesObjects, ObjectMeta, SecretSource } from '../render/kubernetes-objects';
import { logicalId } from './docker-resources';

/** The provider (unless the stack has one) and every Kubernetes account's objects and Secrets. */
export function kubernetesStackResources(scope: Construct, accounts: readonly AccountManifest[], specs: readonly WorkloadSpec[]): void {
  if (accounts.length === 0) return;
  if (!scope.node.scope?.node.findAll().some((c) => c instanceof KubernetesProvider)) new KubernetesProvider(scope, 'kubernetes', {});
  for (const account of accounts) {
    const platform = account.platform as KubernetesPlatform;
    const rendering = kubernetesObjects({ name: account.name, platform }, specs.filter((s) => s.account === account.name));
    const namespace = rendering.objects.find((o) => o.kind === 'Namespace');
    const namespaceResource = namespace ? resourceOf(scope, namespace, []) : undefined;
    const first = namespaceResource ? [namespaceResource] : [];
    const secrets = rendering.secrets.map((s) => secretResource(scope, s, first));
    const claim = rendering.objects.find((o) => o.kind === 'PersistentVolumeClaim');
    const claimResource = claim ? resourceOf(scope, claim, first) : undefined;
    const configMaps = new Map<string, TerraformResource>();
    for (const object of rendering.objects) {
      if (object === namespace || object === claim) continue;
      if (object.kind === 'Deployment') {
        // A Deployment waits for what its pods mount and read: Terraform waits for its rollout.
        const configMap = configMaps.get(`${object.metadata.name}-live`);
        resourceOf(scope, object, [...first, ...(claimResource ? [claimResource] : []), ...secrets, ...(configMap ? [configMap] : [])]);
      } else {
        const resource = resourceOf(scope, object, first);
        if (object.kind === 'ConfigMap') configMaps.set(object.metadata.name!, resource);
      }
    }
  }
}

/** Logical id of an object: kind and name, stable across synths. */
export function kubernetesLogicalId(kind: string, name: string): string {
  return logicalId(`${kind.toLowerCase()}_${name}`);
}

function secretResource(scope: Construct, source: SecretSource, dependsOn: TerraformResource[]): TerraformResource {
  const resource = new SecretV1(scope, kubernetesLogicalId('Secret', source.name), {
    metadata: { name: source.name, namespace: source.namespace, labels: { 'app.kubernetes.io/managed-by': 'livestack' } },
    data: Object.fromEntries(source.keys.map((key) => [key, `\${var.${key}}`])),
    type: 'Opaque',
    dependsOn,
  });
  resource.overrideLogicalId(kubernetesLogicalId('Secret', source.name));
  return resource;
}

function resourceOf(scope: Construct, object: KubernetesObject, dependsOn: TerraformResource[]): TerraformResource {
  const id = kubernetesLogicalId(object.kind, object.metadata.name!);
  const deps = dependsOn.length > 0 ? { dependsOn } : {};
  let resource: TerraformResource;
  switch (object.kind) {
    case 'Namespace':
      resource = new NamespaceV1(scope, id, { metadata: metadata(object.metadata), ...deps });
      break;
    case 'PersistentVolumeClaim':
      resource = new PersistentVolumeClaimV1(scope, id, {
        metadata: metadata(object.metadata),
        spec: { accessModes: [...object.spec.accessModes], resources: { requests: { ...object.spec.resources.requests } }, storageClassName: object.spec.storageClassName },
        // A class that binds on first use would leave Terraform waiting for a pod it has not created yet.
        waitUntilBound: false,
        ...deps,
      });
      break;
    case 'ConfigMap':
      resource = new ConfigMapV1(scope, id, { metadata: metadata(object.metadata), data: { ...object.data }, ...deps });
      break;
    case 'Deployment':
      resource = new DeploymentV1(scope, id, { metadata: metadata(object.metadata), spec: deploymentSpec(object), ...deps });
      break;
    case 'Service':
      resource = new ServiceV1(scope, id, {
        metadata: metadata(object.metadata),
        spec: {
          type: object.spec.type,
          selector: { ...object.spec.selector },
          port: object.spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: String(p.targetPort), protocol: p.protocol })),
          externalTrafficPolicy: object.spec.externalTrafficPolicy,
        },
        ...deps,
      });
      break;
    case 'NetworkPolicy':
      resource = new NetworkPolicyV1(scope, id, {
        metadata: metadata(object.metadata),
        spec: {
          podSelector: { matchLabels: { ...object.spec.podSelector.matchLabels } },
          policyTypes: [...object.spec.policyTypes],
          ingress: object.spec.ingress.map((rule) => ('from' in rule
            ? { from: rule.from.map((f) => ({ podSelector: { matchLabels: { ...f.podSelector.matchLabels } } })) }
            : { ports: rule.ports.map((p) => ({ port: String(p.port), protocol: p.protocol })) })),
        },
        ...deps,
      });
      break;
    case 'HorizontalPodAutoscaler':
      resource = new HorizontalPodAutoscalerV2(scope, id, {
        metadata: metadata(object.metadata),
        spec: {
          scaleTargetRef: { ...object.spec.scaleTargetRef },
          minReplicas: object.spec.minReplicas,
          maxReplicas: object.spec.maxReplicas,
          metric: object.spec.metrics.map((m) => ({ type: m.type, resource: { name: m.resource.name, target: { ...m.resource.target } } })),
        },
        ...deps,
      });
      break;
  }
  resource.overrideLogicalId(id);
  return resource;
}

function metadata(meta: ObjectMeta) {
  return { name: meta.name, namespace: meta.namespace, labels: meta.labels && { ...meta.labels }, annotations: meta.annotations && { ...meta.annotations } };
}

function deploymentSpec(object: Deployment) {
  const { spec } = object;
  const pod = spec.template.spec;
  return {
    replicas: spec.replicas === undefined ? undefined : String(spec.replicas),
    selector: { matchLabels: { ...spec.selector.matchLabels } },
    strategy: spec.strategy.type === 'Recreate'
      ? { type: 'Recreate' }
      : { type: 'RollingUpdate', rollingUpdate: { maxSurge: String(spec.strategy.rollingUpdate.maxSurge), maxUnavailable: String(spec.strategy.rollingUpdate.maxUnavailable) } },
    template: {
      metadata: metadata(spec.template.metadata),
      spec: {
        container: pod.containers.map(container),
        volume: pod.volumes.map((v) => ('persistentVolumeClaim' in v
          ? { name: v.name, persistentVolumeClaim: { claimName: v.persistentVolumeClaim.claimName } }
          : { name: v.name, configMap: { name: v.configMap.name } })),
        nodeSelector: pod.nodeSelector && { ...pod.nodeSelector },
        toleration: pod.tolerations?.map((t) => ({ ...t, tolerationSeconds: t.tolerationSeconds === undefined ? undefined : String(t.tolerationSeconds) })),
        imagePullSecrets: pod.imagePullSecrets?.map((s) => ({ name: s.name })),
        enableServiceLinks: pod.enableServiceLinks,
        shareProcessNamespace: pod.shareProcessNamespace,
      },
    },
  };
}

function container(c: Container): DeploymentV1SpecTemplateSpecContainer {
  const probe = (p: Container['livenessProbe']) => ({
    exec: { command: [...p.exec.command] },
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    failureThreshold: p.failureThreshold,
    initialDelaySeconds: p.initialDelaySeconds,
  });
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    args: [...c.args],
    env: c.env.map((e) => (e.valueFrom
      ? { name: e.name, valueFrom: { secretKeyRef: { name: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key } } }
      : { name: e.name, value: e.value })),
    port: c.ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
    volumeMount: c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly })),
    readinessProbe: probe(c.readinessProbe),
    livenessProbe: probe(c.livenessProbe),
    resources: { requests: c.resources.requests && { ...c.resources.requests }, limits: c.resources.limits && { ...c.resources.limits } },
  };
}
