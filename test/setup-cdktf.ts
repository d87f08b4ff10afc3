import { Testing } from 'cdktf';
import 'cdktf/lib/testing/adapters/jest';

// cdktf's matchers (toHaveResourceWithProperties, ...).
Testing.setupJest();
